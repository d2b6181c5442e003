import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_GUILD_SETTINGS, type GuildSettings } from '../../src/settings/guild-settings.js';
import { createSettingsStore, SETTINGS_NAMESPACE } from '../../src/settings/settings-store.js';
import { createUsageLog } from '../../src/settings/usage-log.js';
import { openStoreBackend, type StoreBackend } from '../../src/store/open-store.js';

const GUILD = '610000000000000001';
const OTHER_GUILD = '610000000000000002';
const CHANNEL = '610000000000000010';

const sqliteDir = mkdtempSync(join(tmpdir(), 'sora-settings-'));
afterAll(() => rmSync(sqliteDir, { recursive: true, force: true }));

interface Backend {
  name: string;
  /** A backend over the same data each time it is called with the same scope (memory: the same instance). */
  open: (scope: string) => StoreBackend;
  persistent: boolean;
}

const memoryBackends = new Map<string, StoreBackend>();
const backends: Backend[] = [
  {
    name: 'memory',
    open: (scope) => {
      let backend = memoryBackends.get(scope);
      if (!backend) memoryBackends.set(scope, (backend = openStoreBackend('memory://')));
      return backend;
    },
    persistent: false,
  },
  { name: 'sqlite', open: (scope) => openStoreBackend(`sqlite://${join(sqliteDir, `${scope}.sqlite`)}`), persistent: true },
];

describe.each(backends)('settings store ($name)', ({ open, persistent }) => {
  it('returns the defaults for a guild that never changed anything', async () => {
    const store = createSettingsStore(open('defaults'));
    expect(await store.get(GUILD)).toEqual(DEFAULT_GUILD_SETTINGS);
    expect(store.peek(GUILD)).toEqual(DEFAULT_GUILD_SETTINGS);
    expect(store.configured()).toEqual([]);
    await store.close();
  });

  it('stores an edit, serves it from memory at once, and reads it back after a restart', async () => {
    const backend = open('round-trip');
    const changes: [string, GuildSettings][] = [];
    const store = createSettingsStore(backend, { onChange: (guildId, settings) => changes.push([guildId, settings]) });
    await store.edit(GUILD, { kind: 'set_showcase', channelId: CHANNEL });
    await store.edit(GUILD, { kind: 'set_limits', memberDailyQuota: 4, guildMaxActiveGenerations: 2, dailyBudgetCredits: 30 });
    await store.edit(GUILD, { kind: 'add_blocked_words', words: ['血腥', 'Gore'] });
    await store.edit(GUILD, { kind: 'set_defaults', defaults: { orientation: 'portrait' }, reset: false });

    const expected: GuildSettings = {
      ...DEFAULT_GUILD_SETTINGS,
      showcaseChannelId: CHANNEL,
      memberDailyQuota: 4,
      guildMaxActiveGenerations: 2,
      dailyBudgetCredits: 30,
      blockedWords: ['血腥', 'gore'],
      defaults: { orientation: 'portrait' },
    };
    expect(store.peek(GUILD)).toEqual(expected);
    expect(changes.map(([guildId]) => guildId)).toEqual([GUILD, GUILD, GUILD, GUILD]);
    expect(changes.at(-1)?.[1]).toEqual(expected);
    await store.close();
    if (persistent) await backend.close();

    const reopened = open('round-trip');
    const again = createSettingsStore(reopened);
    expect(again.peek(GUILD)).toEqual(DEFAULT_GUILD_SETTINGS);
    expect(await again.load()).toBe(1);
    // After load the synchronous lookup has it, without a read.
    expect(again.peek(GUILD)).toEqual(expected);
    expect(again.configured()).toEqual([[GUILD, expected]]);
    expect(await again.get(OTHER_GUILD)).toEqual(DEFAULT_GUILD_SETTINGS);
    // The record is a plain JSON object under the settings namespace.
    expect(await reopened.keyv<unknown>(SETTINGS_NAMESPACE).get(`guild:${GUILD}`)).toMatchObject({
      schemaVersion: 1,
      showcaseChannelId: CHANNEL,
    });
    await again.close();
    await reopened.close();
  });

  it('reload() reads a guild again after another process (another store on the same data) changed it', async () => {
    const scope = `reload-${Math.random()}`;
    const mine = createSettingsStore(open(scope));
    const theirs = createSettingsStore(open(scope));
    await mine.get(GUILD);
    expect(mine.peek(GUILD).memberDailyQuota).toBeNull();
    await theirs.edit(GUILD, { kind: 'set_limits', memberDailyQuota: 3 });
    // Held in memory until told otherwise…
    expect(mine.peek(GUILD).memberDailyQuota).toBeNull();
    expect((await mine.reload(GUILD)).memberDailyQuota).toBe(3);
    expect(mine.peek(GUILD).memberDailyQuota).toBe(3);
    expect((await mine.get(GUILD)).memberDailyQuota).toBe(3);
  });

  it('does not store a refused edit or an edit that changes nothing', async () => {
    const backend = open('refused');
    const changes: string[] = [];
    const store = createSettingsStore(backend, { onChange: (guildId) => changes.push(guildId) });
    const refused = await store.edit(GUILD, { kind: 'set_limits', guildMaxActiveGenerations: 0 });
    expect(refused).toMatchObject({ ok: false });
    const unchanged = await store.edit(GUILD, { kind: 'clear_channels' });
    expect(unchanged).toMatchObject({ ok: true, changed: false });
    expect(changes).toEqual([]);
    expect(await backend.keyv<unknown>(SETTINGS_NAMESPACE).get(`guild:${GUILD}`)).toBeUndefined();
    await store.close();
    await backend.close();
  });

  it('serializes concurrent edits of one guild: none is lost', async () => {
    const backend = open('concurrent');
    const store = createSettingsStore(backend);
    const ids = Array.from({ length: 20 }, (_, i) => String(620000000000000000n + BigInt(i)));
    await Promise.all([
      ...ids.map((channelId) => store.edit(GUILD, { kind: 'allow_channel', channelId })),
      store.edit(OTHER_GUILD, { kind: 'set_log_channel', channelId: CHANNEL }),
    ]);
    expect([...store.peek(GUILD).allowedChannelIds].sort()).toEqual(ids);
    await store.close();

    const again = createSettingsStore(backend);
    expect(await again.load()).toBe(2);
    expect(again.peek(GUILD).allowedChannelIds).toHaveLength(20);
    expect(again.peek(OTHER_GUILD).adminLogChannelId).toBe(CHANNEL);
    await again.close();
    await backend.close();
  });

  it('fails loudly on a corrupt record instead of dropping the guild limits', async () => {
    const backend = open('corrupt');
    await backend.keyv<unknown>(SETTINGS_NAMESPACE).set('guilds', GUILD);
    await backend.keyv<unknown>(SETTINGS_NAMESPACE).set(`guild:${GUILD}`, { allowedChannelIds: 'everything' });
    const store = createSettingsStore(backend);
    expect(await store.load()).toBe(0);
    await expect(store.get(GUILD)).rejects.toThrow(/invalid/);
    await store.close();
    await backend.close();
  });

  it('keeps the task ids each guild started per UTC day', async () => {
    const backend = open('usage');
    const usage = createUsageLog(backend);
    await Promise.all(['t1', 't2', 't3'].map((id) => usage.recordStart(GUILD, '2025-03-01', id)));
    await usage.recordStart(GUILD, '2025-03-01', 't2');
    await usage.recordStart(GUILD, '2025-03-02', 't4');
    await usage.recordStart(OTHER_GUILD, '2025-03-01', 't5');
    expect((await usage.startedOn(GUILD, '2025-03-01')).sort()).toEqual(['t1', 't2', 't3']);
    expect(await usage.startedOn(GUILD, '2025-03-02')).toEqual(['t4']);
    expect(await usage.startedOn(GUILD, '2025-02-28')).toEqual([]);
    await usage.close();
    await backend.close();
  });
});
