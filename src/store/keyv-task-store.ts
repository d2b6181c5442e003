import { systemClock } from '../core/ports.js';
import type { Clock, TaskStore } from '../core/ports.js';
import { utcDay } from '../core/credits.js';
import { isUnfinished } from '../core/task.js';
import type { Task } from '../core/task.js';
import { createKeyMutex } from './key-mutex.js';
import type { StoreBackend } from './open-store.js';
import { assertValidTask, upgradeTask } from './task-record.js';

/** `update` named a task the ledger does not hold. */
export class TaskNotFoundError extends Error {
  constructor(readonly taskId: string) {
    super(`task ${taskId} not found`);
    this.name = 'TaskNotFoundError';
  }
}

/** `create` was given an id the ledger already holds. */
export class TaskAlreadyExistsError extends Error {
  constructor(readonly taskId: string) {
    super(`task ${taskId} already exists`);
    this.name = 'TaskAlreadyExistsError';
  }
}

/** Options of `createKeyvTaskStore`. */
export interface KeyvTaskStoreOptions {
  /** Stamps `updatedAt` when an update leaves it unchanged. */
  clock?: Clock;
}

/** The keyv namespace that holds the ledger. */
export const TASKS_NAMESPACE = 'tasks';
/** How many recent task ids are kept per (guild, member) for `listByUser`. */
export const USER_HISTORY_LENGTH = 100;
// Small enough that @keyv/sqlite's getMany (a linear search per key) stays cheap, large enough
// that 10 000 unfinished tasks load in a few dozen round trips.
const GET_MANY_CHUNK_SIZE = 500;
// Task, guild and user ids never contain whitespace (the task schema checks it).
const ID_SEPARATOR = ' ';

// keyv cannot list keys, so the store keeps its own indexes beside the task records. Id lists are
// stored as one space-separated string and edited as such: keyv's serializer walks arrays element
// by element in JS, and with arrays 10 000 creates in one guild took about a minute.
//   task:<id>                  the Task
//   guilds                     ids of every guild that has had a task (append-only)
//   unfinished:<guildId>       ids of the guild's unfinished tasks
//   provider:<providerTaskId>  our task id
//   user:<guildId>:<userId>    the member's recent task ids, newest first
//   created:<guildId>:<day>    ids of the guild's tasks created on that UTC day (for usage reports;
//                              tasks created before this index existed are not in it)
// An id is added to an index before the task record is written and removed after it, so a crash
// in between leaves an extra index entry (readers skip it, listUnfinished prunes it), never a task
// that no index finds.
// Cross-process writers to one key are not serialized (keyv has no compare-and-set): with several
// processes on Redis, each guild's tasks must be written by the process that owns the guild.

/** The key of a task's record inside the tasks namespace (tests plant raw records with it). */
export const taskRecordKey = (id: string): string => `task:${id}`;
const GUILDS_KEY = 'guilds';
const unfinishedKey = (guildId: string) => `unfinished:${guildId}`;
const providerKey = (providerTaskId: string) => `provider:${providerTaskId}`;
const userKey = (guildId: string, userId: string) => `user:${guildId}:${userId}`;
const createdKey = (guildId: string, day: string) => `created:${guildId}:${day}`;

/** The task ledger over one keyv namespace of `backend`; `close()` drains pending writes but leaves the backend open. */
export function createKeyvTaskStore(backend: StoreBackend, options: KeyvTaskStoreOptions = {}): TaskStore {
  const clock = options.clock ?? systemClock;
  const keyv = backend.keyv<unknown>(TASKS_NAMESPACE);
  const mutex = createKeyMutex();
  // `guilds` only grows, so a guild seen there once can skip the read next time.
  const indexedGuilds = new Set<string>();
  // Guilds waiting to be added to `guilds`: one write adds every guild waiting by then.
  const unindexedGuilds = new Set<string>();
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new Error('the task store is closed');
  }

  async function readTask(id: string): Promise<Task | undefined> {
    const raw = await keyv.get(taskRecordKey(id));
    return raw === undefined ? undefined : upgradeTask(raw);
  }

  async function readTasks(ids: readonly string[]): Promise<Task[]> {
    const raws = await getMany(ids.map(taskRecordKey));
    return raws.filter((raw) => raw !== undefined).map(upgradeTask);
  }

  async function getMany(keys: readonly string[]): Promise<unknown[]> {
    const chunks: string[][] = [];
    for (let start = 0; start < keys.length; start += GET_MANY_CHUNK_SIZE) {
      chunks.push(keys.slice(start, start + GET_MANY_CHUNK_SIZE));
    }
    const results = await Promise.all(chunks.map((chunk) => keyv.getMany<unknown>(chunk)));
    return results.flat();
  }

  async function readIdList(key: string): Promise<string> {
    return asIdList(key, await keyv.get(key));
  }

  /** Read-modify-write of one id list under its own lock; an emptied list is deleted. */
  async function editIdList(key: string, edit: (list: string) => string): Promise<void> {
    await mutex.run(key, async () => {
      const before = await readIdList(key);
      const after = edit(before);
      if (after === before) return;
      if (after === '') await keyv.delete(key);
      else await keyv.set(key, after);
    });
  }

  /**
   * One list serves every guild, so its edits run one at a time: in a burst over 1 000 new guilds
   * each edit would wait for all before it. Instead an edit adds every guild waiting by then, and
   * the callers it served find their guild indexed and skip the read.
   */
  async function addToGuilds(guildId: string): Promise<void> {
    if (indexedGuilds.has(guildId)) return;
    unindexedGuilds.add(guildId);
    await mutex.run(GUILDS_KEY, async () => {
      if (indexedGuilds.has(guildId)) return;
      const batch = [...unindexedGuilds];
      const before = await readIdList(GUILDS_KEY);
      const after = batch.reduce(withId, before);
      if (after !== before) await keyv.set(GUILDS_KEY, after);
      for (const id of batch) {
        indexedGuilds.add(id);
        unindexedGuilds.delete(id);
      }
    });
  }

  async function addToUnfinished(task: Task): Promise<void> {
    await addToGuilds(task.guildId);
    await editIdList(unfinishedKey(task.guildId), (ids) => withId(ids, task.id));
  }

  async function removeFromUnfinished(task: Task): Promise<void> {
    await editIdList(unfinishedKey(task.guildId), (ids) => withoutId(ids, task.id));
  }

  async function setProviderIndex(providerTaskId: string, id: string): Promise<void> {
    await mutex.run(providerKey(providerTaskId), () => keyv.set(providerKey(providerTaskId), id));
  }

  async function dropProviderIndex(providerTaskId: string, id: string): Promise<void> {
    await mutex.run(providerKey(providerTaskId), async () => {
      if ((await keyv.get(providerKey(providerTaskId))) === id) await keyv.delete(providerKey(providerTaskId));
    });
  }

  /** Drops index entries left by a crash: records that are missing or finished. */
  async function pruneUnfinished(indexedIds: readonly string[], unfinished: readonly Task[]): Promise<void> {
    const live = new Set(unfinished.map((task) => task.id));
    for (const id of indexedIds.filter((indexed) => !live.has(indexed))) {
      // Under the task's lock a create or update of it is not half done, so a missing or finished
      // record here really is stale.
      await mutex.run(taskRecordKey(id), async () => {
        const task = await readTask(id);
        if (task !== undefined && isUnfinished(task)) return;
        const guilds = task ? [task.guildId] : splitIds(await readIdList(GUILDS_KEY));
        for (const guildId of guilds) await editIdList(unfinishedKey(guildId), (ids) => withoutId(ids, id));
      });
    }
  }

  /** Index entries that must exist before `next` is written. */
  async function addIndexes(previous: Task | undefined, next: Task): Promise<void> {
    if (isUnfinished(next) && (previous === undefined || !isUnfinished(previous))) await addToUnfinished(next);
    if (next.providerTaskId !== undefined && next.providerTaskId !== previous?.providerTaskId) {
      await setProviderIndex(next.providerTaskId, next.id);
    }
    if (previous === undefined) {
      // Every guild with a task is listed, so every guild's usage finds it (a task may be created finished).
      await addToGuilds(next.guildId);
      await editIdList(createdKey(next.guildId, utcDay(new Date(next.createdAt))), (ids) => withId(ids, next.id));
      await editIdList(userKey(next.guildId, next.userId), (ids) =>
        [next.id, ...splitIds(ids).filter((id) => id !== next.id)].slice(0, USER_HISTORY_LENGTH).join(ID_SEPARATOR),
      );
    }
  }

  /** Index entries that may go only once `next` is written. */
  async function removeStaleIndexes(previous: Task, next: Task): Promise<void> {
    if (isUnfinished(previous) && !isUnfinished(next)) await removeFromUnfinished(next);
    if (previous.providerTaskId !== undefined && previous.providerTaskId !== next.providerTaskId) {
      await dropProviderIndex(previous.providerTaskId, next.id);
    }
  }

  return {
    async create(task) {
      assertOpen();
      assertValidTask(task);
      const record = structuredClone(task);
      await mutex.run(taskRecordKey(record.id), async () => {
        if ((await keyv.get(taskRecordKey(record.id))) !== undefined) throw new TaskAlreadyExistsError(record.id);
        await addIndexes(undefined, record);
        await keyv.set(taskRecordKey(record.id), record);
      });
    },

    async get(id) {
      assertOpen();
      return readTask(id);
    },

    async getByProviderTaskId(providerTaskId) {
      assertOpen();
      const id = await keyv.get(providerKey(providerTaskId));
      if (typeof id !== 'string') return undefined;
      const task = await readTask(id);
      // The index is written before the task, so it can point at a task that never got the id.
      return task?.providerTaskId === providerTaskId ? task : undefined;
    },

    async update(id, change) {
      assertOpen();
      return mutex.run(taskRecordKey(id), async () => {
        const previous = await readTask(id);
        if (previous === undefined) throw new TaskNotFoundError(id);
        // A clone, so a change that mutates its argument cannot alter what the indexes compare against.
        const next = structuredClone(change(structuredClone(previous)));
        if (next.id !== id || next.guildId !== previous.guildId || next.userId !== previous.userId) {
          throw new Error(`task ${id}: an update may not change id, guildId or userId`);
        }
        if (next.updatedAt === previous.updatedAt) next.updatedAt = clock.now().toISOString();
        assertValidTask(next);
        await addIndexes(previous, next);
        await keyv.set(taskRecordKey(id), next);
        await removeStaleIndexes(previous, next);
        return next;
      });
    },

    async listUnfinished() {
      assertOpen();
      const guilds = splitIds(await readIdList(GUILDS_KEY));
      const keys = guilds.map(unfinishedKey);
      const lists = await getMany(keys);
      const ids = [...new Set(keys.flatMap((key, index) => splitIds(asIdList(key, lists[index]))))];
      const tasks = (await readTasks(ids)).filter(isUnfinished);
      if (tasks.length < ids.length) await pruneUnfinished(ids, tasks);
      return tasks.sort((a, b) => compareCreatedAt(a, b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },

    async listByUser(guildId, userId, limit) {
      assertOpen();
      if (limit <= 0) return [];
      const ids = splitIds(await readIdList(userKey(guildId, userId)));
      const tasks = (await readTasks(ids)).filter((task) => task.guildId === guildId && task.userId === userId);
      // The list is newest first; the sort is stable, so equal timestamps keep that order.
      return tasks.sort((a, b) => compareCreatedAt(b, a)).slice(0, limit);
    },

    async listCreatedOn(utcDays, guildId) {
      assertOpen();
      const guilds = guildId !== undefined ? [guildId] : splitIds(await readIdList(GUILDS_KEY));
      const keys = guilds.flatMap((guild) => utcDays.map((day) => createdKey(guild, day)));
      const lists = await getMany(keys);
      const ids = [...new Set(keys.flatMap((key, index) => splitIds(asIdList(key, lists[index]))))];
      const days = new Set(utcDays);
      // A crash between index and record leaves an id without a task; readTasks skips it.
      const tasks = (await readTasks(ids)).filter(
        (task) => (guildId === undefined || task.guildId === guildId) && days.has(utcDay(new Date(task.createdAt))),
      );
      return tasks.sort((a, b) => compareCreatedAt(a, b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },

    async close() {
      closed = true;
      await mutex.idle();
    },
  };
}

function asIdList(key: string, value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  throw new Error(`store index ${key} is corrupt: expected a list of ids`);
}

function splitIds(list: string): string[] {
  return list === '' ? [] : list.split(ID_SEPARATOR);
}

function containsId(list: string, id: string): boolean {
  return `${ID_SEPARATOR}${list}${ID_SEPARATOR}`.includes(`${ID_SEPARATOR}${id}${ID_SEPARATOR}`);
}

function withId(list: string, id: string): string {
  if (list === '') return id;
  return containsId(list, id) ? list : `${list}${ID_SEPARATOR}${id}`;
}

function withoutId(list: string, id: string): string {
  if (!containsId(list, id)) return list;
  const padded = `${ID_SEPARATOR}${list}${ID_SEPARATOR}`;
  return padded.replace(`${ID_SEPARATOR}${id}${ID_SEPARATOR}`, ID_SEPARATOR).slice(1, -1);
}

function compareCreatedAt(a: Task, b: Task): number {
  return Date.parse(a.createdAt) - Date.parse(b.createdAt);
}
