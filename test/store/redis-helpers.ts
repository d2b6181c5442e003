import { randomUUID } from 'node:crypto';
import { createClient } from '@keyv/redis';

/** The shared Redis of development and CI machines (design.md §4). */
export const REDIS_URL = 'redis://127.0.0.1:6379';

/** A key prefix no other run (or other test file) uses; tests never flush the database. */
export function uniqueRedisPrefix(label: string): string {
  return `sora-bot-test:${label}:${process.pid}-${randomUUID().slice(0, 8)}:`;
}

/** Whether Redis answers PING within a second. */
export async function isRedisAvailable(): Promise<boolean> {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 1_000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

/** Deletes every key under `prefix` (SCAN + UNLINK, so other keys stay untouched). */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const client = createClient({ url: REDIS_URL });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await client.unlink(keys);
    }
  } finally {
    client.destroy();
  }
}

/** Reads the raw keys under `prefix`, to check how namespaces are laid out. */
export async function listRedisKeys(prefix: string): Promise<string[]> {
  const client = createClient({ url: REDIS_URL });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const found: string[] = [];
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) found.push(...keys);
    return found.sort();
  } finally {
    client.destroy();
  }
}
