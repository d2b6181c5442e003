import { PermissionFlagsBits, type Client, type PermissionsBitField } from 'discord.js';
import type { DeliveryCheck, DeliveryCheckResult } from '../core/ports.js';

type FlagName = keyof typeof PermissionFlagsBits;

/**
 * What a result post needs: see the channel, send there (in a thread Discord asks for
 * SendMessagesInThreads instead), upload the video and show its embed. ReadMessageHistory, asked at
 * the command, is left out: it only helps find a result after a crash, a post works without it.
 */
function neededIn(isThread: boolean): FlagName[] {
  return ['ViewChannel', isThread ? 'SendMessagesInThreads' : 'SendMessages', 'AttachFiles', 'EmbedLinks'];
}

/**
 * A `DeliveryCheck` from discord.js's gateway caches (guilds, channels, roles, overwrites and the
 * bot's own member, all kept by the Guilds intent): no REST call, so it can run before every submit
 * and for every waiting task of a guild on each gateway event. discord.js computes the permissions
 * (roles, @everyone, channel overwrites, Administrator; a thread's come from its parent).
 */
export function createDeliveryCheck(client: Client): DeliveryCheck {
  return {
    check({ guildId, channelId }): DeliveryCheckResult {
      const guild = client.guilds.cache.get(guildId);
      if (!guild) return { ok: false, reason: 'guild_gone' };
      // An outage (GUILD_DELETE with `unavailable`) is not a removal: its cache is stale, not empty.
      if (!guild.available) return { ok: true };
      const channel = guild.channels.cache.get(channelId);
      if (!channel) return { ok: false, reason: 'channel_gone' };
      const me = guild.members.me;
      // Not cached yet (it comes with GUILD_CREATE): nothing to judge by, so the submit goes ahead.
      if (!me) return { ok: true };
      const permissions: Readonly<PermissionsBitField> | null = channel.permissionsFor(me);
      // A thread whose parent left the cache cannot be posted in either.
      if (!permissions) return { ok: false, reason: 'channel_gone' };
      const missing = neededIn(channel.isThread()).filter((name) => !permissions.has(PermissionFlagsBits[name]));
      return missing.length === 0 ? { ok: true } : { ok: false, reason: 'missing_permissions', permissions: missing };
    },
  };
}
