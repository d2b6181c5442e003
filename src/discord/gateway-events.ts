import { Events, type Client, type Guild } from 'discord.js';
import type { Logger } from '../core/ports.js';

/** Options for {@link registerGatewayEvents}. */
export interface GatewayEventsOptions {
  /** Ends a guild's waiting tasks whose result could no longer be posted (the scheduler's `recheckGuild`). */
  recheckGuild(guildId: string): Promise<unknown>;
  /** `ALLOWED_GUILD_IDS`; undefined: every server is served and none is left. */
  allowedGuildIds: ReadonlySet<string> | undefined;
  logger: Logger;
}

/**
 * Keeps the queue in step with what the bot can still deliver: when the bot is removed from a
 * server, or a channel, a role or the bot's own member changes there, that server's waiting tasks
 * are checked again (the check reads the cache discord.js has just updated); and a server outside
 * `ALLOWED_GUILD_IDS` is left as soon as the bot is added to it, so an outsider's invite cannot
 * even queue. Returns `leaveOutsiders`, for the servers the bot is already in at start.
 */
export function registerGatewayEvents(client: Client, options: GatewayEventsOptions): { leaveOutsiders(): Promise<void> } {
  const { allowedGuildIds, logger } = options;
  const recheck = (guildId: string | null | undefined, cause: string) => {
    if (!guildId) return;
    options.recheckGuild(guildId).catch((err: unknown) => logger.warn({ err, guildId, cause }, 'could not re-check waiting tasks'));
  };

  async function leaveIfOutsider(guild: Guild): Promise<void> {
    if (!allowedGuildIds || allowedGuildIds.has(guild.id)) return;
    logger.warn({ guildId: guild.id }, 'leaving a server that is not in ALLOWED_GUILD_IDS');
    try {
      await guild.leave();
    } catch (err) {
      logger.warn({ err, guildId: guild.id }, 'could not leave a server that is not in ALLOWED_GUILD_IDS');
    }
  }

  // Without `unavailable` only: an outage is not a removal (discord.js then emits GuildUnavailable).
  client.on(Events.GuildDelete, (guild) => recheck(guild.id, 'guild_delete'));
  client.on(Events.GuildCreate, (guild) => void leaveIfOutsider(guild));
  client.on(Events.ChannelDelete, (channel) => recheck('guildId' in channel ? channel.guildId : null, 'channel_delete'));
  client.on(Events.ThreadDelete, (thread) => recheck(thread.guildId, 'thread_delete'));
  client.on(Events.ChannelUpdate, (_old, channel) => recheck('guildId' in channel ? channel.guildId : null, 'channel_update'));
  client.on(Events.ThreadUpdate, (_old, thread) => recheck(thread.guildId, 'thread_update'));
  client.on(Events.GuildRoleUpdate, (_old, role) => recheck(role.guild.id, 'role_update'));
  client.on(Events.GuildRoleDelete, (role) => recheck(role.guild.id, 'role_delete'));
  client.on(Events.GuildMemberUpdate, (_old, member) => {
    // Only the bot's own roles matter here. Without the privileged GuildMembers intent this arrives
    // only when Discord sends the bot its own member update; when it does not, the post's 50013 stays
    // the last word (undeliverable), as before.
    if (member.id === client.user?.id) recheck(member.guild.id, 'member_update');
  });

  return {
    async leaveOutsiders() {
      await Promise.all([...client.guilds.cache.values()].map((guild) => leaveIfOutsider(guild)));
    },
  };
}
