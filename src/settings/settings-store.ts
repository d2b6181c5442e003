import type { Logger } from '../core/ports.js';
import { createKeyMutex } from '../store/key-mutex.js';
import type { StoreBackend } from '../store/open-store.js';
import {
  applySettingsEdit,
  DEFAULT_GUILD_SETTINGS,
  parseGuildSettings,
  storedGuildSettings,
  type GuildSettings,
  type SettingsEdit,
  type SettingsEditResult,
} from './guild-settings.js';

/** The keyv namespace that holds guild settings. */
export const SETTINGS_NAMESPACE = 'settings';

// keyv cannot list keys, so the ids of guilds with a record are kept beside them, space-separated:
//   guild:<guildId>   the guild's settings ({ schemaVersion, ...GuildSettings })
//   guilds            ids of every guild that has a record (the id is added before the record is written)
const GUILDS_KEY = 'guilds';
// Guild ids are digits only, so this mutex key cannot collide with one.
const INDEX_LOCK = 'index';
const GET_MANY_CHUNK_SIZE = 500;
const settingsKey = (guildId: string): string => `guild:${guildId}`;

/** Guild settings over keyv, all held in memory: every write goes through this store, so reads need no I/O. */
export interface SettingsStore {
  /** Reads every guild's settings into memory; call at start-up, before commands are served. Returns the count. */
  load(): Promise<number>;
  /** A guild's settings (defaults when it has none). */
  get(guildId: string): Promise<GuildSettings>;
  /** A guild's settings from memory without I/O (defaults when not loaded), for synchronous hot paths. */
  peek(guildId: string): GuildSettings;
  /** Applies an edit, serialized per guild; a valid change is stored, then takes effect at once. */
  edit(guildId: string, edit: SettingsEdit): Promise<SettingsEditResult>;
  /** Reads a guild's settings again from the store (another process changed them); no `onChange`. */
  reload(guildId: string): Promise<GuildSettings>;
  /** Every guild whose settings are in memory and not the defaults. */
  configured(): [guildId: string, settings: GuildSettings][];
  /** Waits for pending writes; the backend stays open. */
  close(): Promise<void>;
}

/** Options of `createSettingsStore`. */
export interface SettingsStoreOptions {
  /** Called after a change was stored (e.g. so the scheduler re-checks a raised concurrency cap). */
  onChange?: (guildId: string, settings: GuildSettings) => void;
  logger?: Logger;
}

/** Guild settings in the `settings` namespace of `backend` (its `throwOnErrors` applies). */
export function createSettingsStore(backend: StoreBackend, options: SettingsStoreOptions = {}): SettingsStore {
  const keyv = backend.keyv<unknown>(SETTINGS_NAMESPACE);
  const mutex = createKeyMutex();
  const cache = new Map<string, GuildSettings>();
  const indexed = new Set<string>();
  let indexLoaded = false;
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new Error('the settings store is closed');
  }

  async function readIndex(): Promise<string[]> {
    const raw = await keyv.get(GUILDS_KEY);
    const ids = typeof raw === 'string' ? raw.split(' ').filter((id) => id !== '') : [];
    for (const id of ids) indexed.add(id);
    indexLoaded = true;
    return ids;
  }

  async function read(guildId: string): Promise<GuildSettings> {
    const raw = await keyv.get(settingsKey(guildId));
    return raw === undefined ? DEFAULT_GUILD_SETTINGS : parseGuildSettings(guildId, raw);
  }

  function addToIndex(guildId: string): Promise<void> {
    return mutex.run(INDEX_LOCK, async () => {
      if (!indexLoaded) await readIndex();
      if (indexed.has(guildId)) return;
      await keyv.set(GUILDS_KEY, [...indexed, guildId].join(' '));
      indexed.add(guildId);
    });
  }

  return {
    async load() {
      assertOpen();
      const ids = await mutex.run(INDEX_LOCK, readIndex);
      for (let start = 0; start < ids.length; start += GET_MANY_CHUNK_SIZE) {
        const chunk = ids.slice(start, start + GET_MANY_CHUNK_SIZE);
        const raws = await keyv.getMany(chunk.map(settingsKey));
        chunk.forEach((guildId, index) => {
          const raw = raws[index];
          if (raw === undefined) return;
          try {
            cache.set(guildId, parseGuildSettings(guildId, raw));
          } catch (err) {
            // Left out of the cache, so every later read of this guild fails loudly instead of
            // quietly dropping its limits.
            options.logger?.error({ err, guildId }, 'stored guild settings are invalid');
          }
        });
      }
      return cache.size;
    },

    get(guildId) {
      const cached = cache.get(guildId);
      if (cached) return Promise.resolve(cached);
      assertOpen();
      // Through the guild's lock: a read racing an edit must not put the old value back in the cache.
      return mutex.run(guildId, async () => {
        const settings = cache.get(guildId) ?? (await read(guildId));
        cache.set(guildId, settings);
        return settings;
      });
    },

    peek(guildId) {
      return cache.get(guildId) ?? DEFAULT_GUILD_SETTINGS;
    },

    edit(guildId, edit) {
      assertOpen();
      return mutex.run(guildId, async () => {
        const current = cache.get(guildId) ?? (await read(guildId));
        const result = applySettingsEdit(current, edit);
        if (!result.ok || !result.changed) {
          cache.set(guildId, current);
          return result;
        }
        await addToIndex(guildId);
        await keyv.set(settingsKey(guildId), { schemaVersion: 1, ...storedGuildSettings(result.settings) });
        cache.set(guildId, result.settings);
        options.logger?.info({ guildId, change: edit.kind }, 'guild settings changed');
        options.onChange?.(guildId, result.settings);
        return result;
      });
    },

    reload(guildId) {
      assertOpen();
      return mutex.run(guildId, async () => {
        const settings = await read(guildId);
        cache.set(guildId, settings);
        return settings;
      });
    },

    configured() {
      return [...cache.entries()].filter(([, settings]) => settings !== DEFAULT_GUILD_SETTINGS);
    },

    async close() {
      closed = true;
      await mutex.idle();
    },
  };
}
