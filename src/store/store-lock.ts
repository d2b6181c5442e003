import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import sqlite3 from 'sqlite3';
import type { StoreLocation } from './open-store.js';

/**
 * One bot process per sqlite file: a second one (two containers on one volume, a restart that
 * overlaps) would follow the same tasks and submit or post them twice.
 *
 * The lock is SQLite's own exclusive locking on a small dedicated database beside the store
 * (`<store>.lock`): `locking_mode = EXCLUSIVE` plus one write makes the connection keep an
 * OS-level (POSIX `fcntl`) write lock on that file until it closes. The kernel drops such a lock
 * when its process ends in any way, kill -9 and OOM kills included, so a dead holder never leaves
 * a stale lock behind: the next start simply takes it. The file itself stays and is harmless.
 * Hand-written on SQLite rather than a lock-file package because those (mkdir/pid files plus an
 * mtime heartbeat) need a staleness timeout, which either blocks a restart after kill -9 for that
 * long or lets a paused holder lose its lock; an `fcntl` lock has neither problem.
 * The store's own tables are not locked this way, so `npm run migrate-store` and sqlite3 shells
 * can still read them. Like SQLite itself, this needs a filesystem with working POSIX locks
 * (local disks and Docker volumes do; some network filesystems do not).
 */
export interface StoreLock {
  /** The lock file, or undefined when the store needs none (memory, Redis, sqlite in memory). */
  readonly lockPath: string | undefined;
  /** Lets the next process in; call after the store is closed. Idempotent. */
  release(): Promise<void>;
}

/** Another live process holds the store; the message says what to do instead. */
export class StoreLockedError extends Error {
  constructor(
    readonly storePath: string,
    readonly lockPath: string,
  ) {
    super(
      `another bot process is already running on the sqlite store ${storePath} (it holds ${lockPath}). ` +
        'Run one process per sqlite file; to run several processes or shards, scale out with ' +
        'STORE_URL=redis://… (README "Scaling out").',
    );
    this.name = 'StoreLockedError';
  }
}

const LOCK_WAIT_MS = 1_000;

/** The lock file that guards a sqlite store file. */
export function storeLockPath(storePath: string): string {
  return `${storePath}.lock`;
}

/** Takes the store's process lock, or rejects with `StoreLockedError` when another process holds it. */
export async function lockStore(location: StoreLocation): Promise<StoreLock> {
  // Redis stores coordinate several processes themselves; memory stores are private to one.
  if (location.kind !== 'sqlite' || location.path === ':memory:') {
    return { lockPath: undefined, release: async () => {} };
  }
  const lockPath = storeLockPath(location.path);
  mkdirSync(dirname(resolve(lockPath)), { recursive: true });
  const db = await openDatabase(lockPath);
  try {
    // A holder that is closing right now (a restart) gets this long to let go; then SQLITE_BUSY.
    db.configure('busyTimeout', LOCK_WAIT_MS);
    await run(db, 'PRAGMA locking_mode = EXCLUSIVE');
    await run(db, 'BEGIN EXCLUSIVE');
    // A write in exclusive locking mode keeps the write lock after COMMIT, until the connection closes.
    await run(db, 'CREATE TABLE IF NOT EXISTS holder(pid INTEGER, host TEXT, since TEXT)');
    await run(db, 'DELETE FROM holder');
    await run(db, 'INSERT INTO holder VALUES (?, ?, ?)', process.pid, hostname(), new Date().toISOString());
    await run(db, 'COMMIT');
  } catch (err) {
    await closeDatabase(db).catch(() => {});
    if (isBusy(err)) throw new StoreLockedError(location.path, lockPath);
    throw err;
  }
  let released: Promise<void> | undefined;
  return {
    lockPath,
    release: () => (released ??= closeDatabase(db)),
  };
}

function openDatabase(path: string): Promise<sqlite3.Database> {
  return new Promise((resolvePromise, reject) => {
    const db = new sqlite3.Database(path, (err) => (err ? reject(err) : resolvePromise(db)));
  });
}

function run(db: sqlite3.Database, sql: string, ...params: unknown[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    db.run(sql, params, (err: Error | null) => (err ? reject(err) : resolvePromise()));
  });
}

function closeDatabase(db: sqlite3.Database): Promise<void> {
  return new Promise((resolvePromise, reject) => db.close((err) => (err ? reject(err) : resolvePromise())));
}

function isBusy(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}
