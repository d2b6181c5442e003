import { Routes, type APIMessage, type REST } from 'discord.js';
import type { DiscordActions } from './command.js';
import { classifyDiscordError } from './discord-errors.js';

interface RefreshUrlsResponse {
  refreshed_urls?: { original?: string; refreshed?: string }[];
}

/** {@link DiscordActions} over the bot's REST client. */
export function createDiscordActions(rest: REST): DiscordActions {
  return {
    async deleteMessage(channelId, messageId) {
      await rest.delete(Routes.channelMessage(channelId, messageId));
    },
    async refreshAttachmentUrls(urls) {
      const answer = (await rest.post('/attachments/refresh-urls', { body: { attachment_urls: urls } })) as RefreshUrlsResponse;
      const renewed = new Map<string, string>();
      for (const entry of answer.refreshed_urls ?? []) {
        if (entry.original && entry.refreshed) renewed.set(entry.original, entry.refreshed);
      }
      return renewed;
    },
    async fetchMessage(channelId, messageId) {
      try {
        return (await rest.get(Routes.channelMessage(channelId, messageId))) as APIMessage;
      } catch (error) {
        // Deleted meanwhile, or the bot cannot read the channel: the caller tells the member.
        if (classifyDiscordError(error).kind === 'undeliverable') return undefined;
        const status = (error as { status?: number }).status;
        if (status === 404 || status === 403) return undefined;
        throw error;
      }
    },
  };
}
