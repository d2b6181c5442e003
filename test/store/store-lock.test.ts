import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { lockStore, StoreLockedError, storeLockPath } from '../../src/store/store-lock.js';

const tempDir = mkdtempSync(join(tmpdir(), 'sora-store-lock-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

const holder = join(import.meta.dirname, 'fixtures/hold-store-lock.ts');

/** Starts a separate process (node itself, not the tsx wrapper, so SIGKILL reaches the holder) that takes the lock; resolves once it holds it. */
async function lockInAnotherProcess(path: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', holder, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('locked')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the lock holder exited early (${String(code)})`)));
  });
  return child;
}

describe('lockStore', () => {
  it('lets one holder in per sqlite file and names the file and the way out to the next', async () => {
    const path = join(tempDir, 'one', 'bot.sqlite');
    const first = await lockStore({ kind: 'sqlite', path });
    expect(first.lockPath).toBe(storeLockPath(path));
    expect(existsSync(storeLockPath(path))).toBe(true);

    const second = lockStore({ kind: 'sqlite', path });
    await expect(second).rejects.toBeInstanceOf(StoreLockedError);
    await expect(second).rejects.toThrow(path);
    await expect(second).rejects.toThrow(/STORE_URL=redis:\/\/.*Scaling out/);

    // Another file is another store.
    const other = await lockStore({ kind: 'sqlite', path: join(tempDir, 'one', 'other.sqlite') });
    await other.release();

    await first.release();
    await first.release();
    const third = await lockStore({ kind: 'sqlite', path });
    await third.release();
  });

  it('refuses while another process holds the lock, and takes it at once after that process is killed with SIGKILL', async () => {
    const path = join(tempDir, 'killed', 'bot.sqlite');
    const child = await lockInAnotherProcess(path);
    try {
      await expect(lockStore({ kind: 'sqlite', path })).rejects.toBeInstanceOf(StoreLockedError);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    // The kernel dropped the dead holder's lock: no staleness timeout to wait for.
    const lock = await lockStore({ kind: 'sqlite', path });
    await lock.release();
  }, 30_000);

  it.each([
    [{ kind: 'memory' } as const],
    [{ kind: 'redis', url: 'redis://127.0.0.1:6379' } as const],
    [{ kind: 'sqlite', path: ':memory:' } as const],
  ])('needs no lock for %o', async (location) => {
    const [a, b] = await Promise.all([lockStore(location), lockStore(location)]);
    expect(a.lockPath).toBeUndefined();
    await a.release();
    await b.release();
  });
});
