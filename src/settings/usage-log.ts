import type { GuildUsageLog } from '../core/ports.js';
import { createKeyMutex } from '../store/key-mutex.js';
import type { StoreBackend } from '../store/open-store.js';

/** The keyv namespace of the per-guild daily usage log. */
export const USAGE_NAMESPACE = 'usage';

// Only today's list is ever read; the expiry leaves a day of slack for clocks and time zones.
const USAGE_TTL_MS = 3 * 24 * 60 * 60_000;
const usageKey = (guildId: string, utcDay: string): string => `day:${guildId}:${utcDay}`;

/** The task ids each guild started per UTC day (space-separated, as the ledger's indexes), for its daily budget. */
export function createUsageLog(backend: StoreBackend): GuildUsageLog & { close(): Promise<void> } {
  const keyv = backend.keyv<string>(USAGE_NAMESPACE);
  const mutex = createKeyMutex();

  async function read(key: string): Promise<string[]> {
    const raw = await keyv.get(key);
    return typeof raw === 'string' ? raw.split(' ').filter((id) => id !== '') : [];
  }

  return {
    recordStart(guildId, utcDay, taskId) {
      const key = usageKey(guildId, utcDay);
      return mutex.run(key, async () => {
        const ids = await read(key);
        if (ids.includes(taskId)) return;
        await keyv.set(key, [...ids, taskId].join(' '), USAGE_TTL_MS);
      });
    },

    startedOn(guildId, utcDay) {
      const key = usageKey(guildId, utcDay);
      return mutex.run(key, () => read(key));
    },

    close() {
      return mutex.idle();
    },
  };
}
