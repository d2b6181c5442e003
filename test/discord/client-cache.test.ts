import { GuildMemberManager, MessageManager } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { createDiscordClient } from '../../src/discord/client.js';

/** discord.js's cache factory, called as its managers call it (its typings only list the manager names). */
type MakeCache = (manager: unknown, holds: unknown, managerType: unknown) => Map<string, unknown>;

describe('createDiscordClient caches', () => {
  it('keeps no messages (replies it edits were kept 200 per channel, never read) but still caches members', () => {
    const client = createDiscordClient({ shardCount: 1, apiUrl: undefined });
    try {
      const makeCache = client.options.makeCache as unknown as MakeCache;
      const messages = makeCache(MessageManager, MessageManager.prototype.holds, MessageManager);
      messages.set('1', {});
      expect(messages.size).toBe(0);
      const members = makeCache(GuildMemberManager, GuildMemberManager.prototype.holds, GuildMemberManager);
      members.set('1', {});
      expect(members.size).toBe(1);
    } finally {
      void client.destroy();
    }
  });
});
