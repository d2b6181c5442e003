import { afterEach, describe, expect, it } from 'vitest';
import type { Clock, TaskStore } from '../../src/core/ports.js';
import { transition } from '../../src/core/task.js';
import type { Task } from '../../src/core/task.js';
import { TaskAlreadyExistsError, TaskNotFoundError, USER_HISTORY_LENGTH } from '../../src/store/keyv-task-store.js';
import { InvalidTaskRecordError, UnsupportedTaskSchemaError } from '../../src/store/task-record.js';

/** A store opened for one contract test, with what the contract needs besides the port. */
export interface TaskStoreHarness {
  store: TaskStore;
  /** Writes a raw value as a task's record, bypassing the store (old schema versions). */
  plantRawTask(id: string, raw: unknown): Promise<void>;
  /** Closes the store and the backend under it. */
  close(): Promise<void>;
}

/** Opens a store; two calls with the same `scope` share data (when the backend persists), different scopes never do. */
export type MakeTaskStore = (options: { scope: string; clock?: Clock }) => Promise<TaskStoreHarness>;

let sequence = 0;

/** A valid task; ids are unique per process unless given. */
export function makeTask(overrides: Partial<Task> = {}): Task {
  sequence += 1;
  return {
    schemaVersion: 1,
    id: `t${process.pid}x${sequence}`,
    guildId: 'g1',
    channelId: 'c1',
    userId: 'u1',
    request: { prompt: 'a cat surfing', model: 'sora-2', duration: 10, orientation: 'landscape', size: 'small' },
    state: 'queued',
    uploadLimitBytes: 10 * 1024 * 1024,
    submitAttempts: 0,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function minutesAfterEpoch(minutes: number): string {
  return new Date(Date.UTC(2025, 0, 1, 0, minutes)).toISOString();
}

/** Runs the TaskStore contract against one backend; `persistent` backends must keep data across close and reopen. */
export function describeTaskStoreContract(name: string, makeStore: MakeTaskStore, options: { persistent: boolean }): void {
  describe(`TaskStore contract: ${name}`, () => {
    const opened: TaskStoreHarness[] = [];
    let scopeCounter = 0;

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((harness) => harness.close()));
    });

    async function open(scope?: string, clock?: Clock): Promise<TaskStoreHarness> {
      scopeCounter += 1;
      const harness = await makeStore({ scope: scope ?? `s${scopeCounter}`, clock });
      opened.push(harness);
      return harness;
    }

    async function openStore(): Promise<TaskStore> {
      return (await open()).store;
    }

    it('returns what was created, JSON-safe, with times as ISO strings', async () => {
      const store = await openStore();
      const task = makeTask({
        request: {
          prompt: ':base64:looks-like-a-marker — ünïcödé 🎬',
          model: 'sora-2-pro',
          duration: 25,
          orientation: 'portrait',
          size: 'large',
          imageUrl: 'https://cdn.example/a.png?ex=1',
        },
        interaction: { applicationId: 'app', token: 'tok', expiresAt: '2025-01-01T00:15:00.000Z' },
        locale: 'de',
        outcome: { kind: 'failed', code: 'api_error', message: 'boom' },
      });

      await store.create(task);
      const stored = await store.get(task.id);

      expect(stored).toEqual(task);
      expect(typeof stored?.createdAt).toBe('string');
      expect(JSON.parse(JSON.stringify(stored))).toEqual(task);
      expect(await store.get('no-such-task')).toBeUndefined();
    });

    it('keeps its own copy: mutating a task during create or after get changes nothing stored', async () => {
      const store = await openStore();
      const task = makeTask();
      const created = store.create(task);
      task.submitAttempts = 7;
      await created;
      const read = await store.get(task.id);
      if (read) read.submitAttempts = 9;

      expect((await store.get(task.id))?.submitAttempts).toBe(0);
    });

    it('rejects a second create of the same id and keeps the first', async () => {
      const store = await openStore();
      const first = makeTask({ request: { ...makeTask().request, prompt: 'first' } });
      await store.create(first);

      await expect(store.create({ ...first, request: { ...first.request, prompt: 'second' } })).rejects.toBeInstanceOf(
        TaskAlreadyExistsError,
      );
      expect((await store.get(first.id))?.request.prompt).toBe('first');
    });

    it('rejects records that are not valid, JSON-safe tasks', async () => {
      const store = await openStore();
      const withDate = { ...makeTask(), createdAt: new Date() } as unknown as Task;
      const tooLongId = makeTask({ id: 'x'.repeat(26) });
      const badState = { ...makeTask(), state: 'exploded' } as unknown as Task;

      for (const task of [withDate, tooLongId, badState]) {
        await expect(store.create(task)).rejects.toBeInstanceOf(InvalidTaskRecordError);
        expect(await store.get(task.id)).toBeUndefined();
      }
    });

    it('update persists the change and returns the new task', async () => {
      const store = await openStore();
      const task = makeTask();
      await store.create(task);

      const updated = await store.update(task.id, (t) =>
        transition(t, 'submitting', new Date('2025-01-01T00:01:00.000Z'), { submitAttempts: t.submitAttempts + 1 }),
      );

      expect(updated.state).toBe('submitting');
      expect(updated.updatedAt).toBe('2025-01-01T00:01:00.000Z');
      expect(await store.get(task.id)).toEqual(updated);
    });

    it('update stamps updatedAt from its clock when the change leaves it alone', async () => {
      const clock: Clock = { now: () => new Date('2025-02-03T04:05:06.000Z') };
      const { store } = await open(undefined, clock);
      const task = makeTask();
      await store.create(task);

      const updated = await store.update(task.id, (t) => ({ ...t, timeoutNoticePosted: true }));

      expect(updated.updatedAt).toBe('2025-02-03T04:05:06.000Z');
    });

    it('update of an unknown id rejects with TaskNotFoundError', async () => {
      const store = await openStore();
      const error: unknown = await store.update('missing', (t) => t).catch((err: unknown) => err);

      expect(error).toBeInstanceOf(TaskNotFoundError);
      expect((error as TaskNotFoundError).taskId).toBe('missing');
    });

    it('writes nothing when the change throws or returns an invalid task', async () => {
      const store = await openStore();
      const task = makeTask();
      await store.create(task);

      await expect(store.update(task.id, (t) => transition(t, 'delivered', new Date()))).rejects.toThrow(/invalid transition/);
      await expect(store.update(task.id, (t) => ({ ...t, submitAttempts: -1 }))).rejects.toBeInstanceOf(InvalidTaskRecordError);
      await expect(store.update(task.id, (t) => ({ ...t, id: 'other' }))).rejects.toThrow(/may not change/);

      expect(await store.get(task.id)).toEqual(task);
      expect(await store.get('other')).toBeUndefined();
    });

    it('lists unfinished tasks of every guild, oldest first', async () => {
      const store = await openStore();
      const middle = makeTask({ guildId: 'g2', createdAt: minutesAfterEpoch(2) });
      const newest = makeTask({ guildId: 'g1', createdAt: minutesAfterEpoch(3) });
      const oldest = makeTask({ guildId: 'g3', createdAt: minutesAfterEpoch(1) });
      const delivered = makeTask({ state: 'delivered', createdAt: minutesAfterEpoch(0) });
      for (const task of [middle, newest, oldest, delivered]) await store.create(task);

      expect((await store.listUnfinished()).map((t) => t.id)).toEqual([oldest.id, middle.id, newest.id]);
    });

    it('drops a task from listUnfinished once it finishes, and only then', async () => {
      const store = await openStore();
      const task = makeTask();
      const other = makeTask();
      await store.create(task);
      await store.create(other);
      const at = new Date('2025-01-01T00:05:00.000Z');

      await store.update(task.id, (t) => transition(t, 'submitting', at));
      await store.update(task.id, (t) => transition(t, 'submitted', at, { providerTaskId: 'p-drop' }));
      await store.update(task.id, (t) => transition(t, 'timed_out', at));
      await store.update(task.id, (t) => transition(t, 'posting', at));
      await store.update(task.id, (t) => transition(t, 'timed_out', at, { timeoutNoticePosted: true }));
      expect((await store.listUnfinished()).map((t) => t.id)).toEqual([task.id, other.id]);

      await store.update(task.id, (t) => transition(t, 'succeeded', at, { outcome: { kind: 'succeeded', videoUrl: 'v' } }));
      await store.update(task.id, (t) => transition(t, 'posting', at));
      await store.update(task.id, (t) => transition(t, 'delivered', at, { deliveredAt: at.toISOString() }));
      expect((await store.listUnfinished()).map((t) => t.id)).toEqual([other.id]);

      // The store persists what it is given; a task brought back to an unfinished state is listed again.
      await store.update(task.id, (t) => ({ ...t, state: 'posting' }));
      expect((await store.listUnfinished()).map((t) => t.id)).toEqual([task.id, other.id]);
    });

    it('finds a task by its provider task id once it has one', async () => {
      const store = await openStore();
      const task = makeTask();
      await store.create(task);
      expect(await store.getByProviderTaskId('prov-1')).toBeUndefined();

      await store.update(task.id, (t) => transition(t, 'submitting', new Date()));
      await store.update(task.id, (t) => transition(t, 'submitted', new Date(), { providerTaskId: 'prov-1' }));

      expect((await store.getByProviderTaskId('prov-1'))?.id).toBe(task.id);
      expect(await store.getByProviderTaskId('prov-2')).toBeUndefined();
    });

    it('creates a task that already has a provider task id with its index', async () => {
      const store = await openStore();
      const task = makeTask({ state: 'submitted', providerTaskId: 'prov-born' });
      await store.create(task);

      expect((await store.getByProviderTaskId('prov-born'))?.id).toBe(task.id);
    });

    it('lists a member’s tasks in one guild, newest first, up to the limit', async () => {
      const store = await openStore();
      const mine = [1, 2, 3, 4].map((minute) => makeTask({ guildId: 'g1', userId: 'u1', createdAt: minutesAfterEpoch(minute) }));
      const otherGuild = makeTask({ guildId: 'g2', userId: 'u1', createdAt: minutesAfterEpoch(5) });
      const otherUser = makeTask({ guildId: 'g1', userId: 'u2', createdAt: minutesAfterEpoch(6) });
      for (const task of [...mine, otherGuild, otherUser]) await store.create(task);
      await store.update(mine[0]!.id, (t) => ({ ...t, state: 'cancelled' }));

      expect((await store.listByUser('g1', 'u1', 3)).map((t) => t.id)).toEqual([mine[3]!.id, mine[2]!.id, mine[1]!.id]);
      expect((await store.listByUser('g1', 'u1', 10)).map((t) => t.id)).toEqual([...mine].reverse().map((t) => t.id));
      expect((await store.listByUser('g2', 'u1', 10)).map((t) => t.id)).toEqual([otherGuild.id]);
      expect(await store.listByUser('g1', 'u3', 10)).toEqual([]);
      expect(await store.listByUser('g1', 'u1', 0)).toEqual([]);
    });

    it('lists the tasks created on given UTC days, in one guild or in every guild, oldest first', async () => {
      const store = await openStore();
      const at = (iso: string, overrides: Partial<Task> = {}) => makeTask({ createdAt: iso, updatedAt: iso, ...overrides });
      const g1Late = at('2025-03-02T23:59:59.999Z');
      const g1Early = at('2025-03-02T00:00:00.000Z', { userId: 'u2' });
      const g1NextDay = at('2025-03-03T00:00:00.000Z');
      const g1DayBefore = at('2025-03-01T23:59:59.999Z');
      const g2 = at('2025-03-02T12:00:00.000Z', { guildId: 'g2' });
      // Created already finished (a migration, an import): never in the unfinished index, still listed.
      const g9Finished = at('2025-03-02T18:00:00.000Z', { guildId: 'g9', state: 'delivered' });
      for (const task of [g1Late, g1Early, g1NextDay, g1DayBefore, g2, g9Finished]) await store.create(task);
      // An update (a finish) keeps the task on its creation day.
      await store.update(g1Late.id, (t) => ({ ...t, state: 'cancelled', updatedAt: '2025-03-05T00:00:00.000Z' }));

      const ids = (tasks: Task[]) => tasks.map((t) => t.id);
      expect(ids(await store.listCreatedOn(['2025-03-02'], 'g1'))).toEqual([g1Early.id, g1Late.id]);
      expect(ids(await store.listCreatedOn(['2025-03-02', '2025-03-03'], 'g1'))).toEqual([g1Early.id, g1Late.id, g1NextDay.id]);
      expect(ids(await store.listCreatedOn(['2025-03-02']))).toEqual([g1Early.id, g2.id, g9Finished.id, g1Late.id]);
      expect((await store.listCreatedOn(['2025-03-02'], 'g1')).find((t) => t.id === g1Late.id)?.state).toBe('cancelled');
      expect(await store.listCreatedOn(['2025-03-04'], 'g1')).toEqual([]);
      expect(await store.listCreatedOn(['2025-03-02'], 'g3')).toEqual([]);
      expect(await store.listCreatedOn([])).toEqual([]);
    });

    it(`keeps the last ${USER_HISTORY_LENGTH} tasks per member`, async () => {
      const store = await openStore();
      const tasks = Array.from({ length: USER_HISTORY_LENGTH + 5 }, (_, index) =>
        makeTask({ createdAt: new Date(Date.UTC(2025, 0, 1) + index * 1000).toISOString() }),
      );
      for (const task of tasks) await store.create(task);

      const listed = await store.listByUser('g1', 'u1', 1_000);

      expect(listed).toHaveLength(USER_HISTORY_LENGTH);
      expect(listed[0]?.id).toBe(tasks.at(-1)?.id);
      expect(listed.at(-1)?.id).toBe(tasks[5]?.id);
    });

    it('serializes concurrent updates of one task: 50 parallel increments end at 50', async () => {
      const store = await openStore();
      const task = makeTask();
      await store.create(task);

      await Promise.all(Array.from({ length: 50 }, () => store.update(task.id, (t) => ({ ...t, submitAttempts: t.submitAttempts + 1 }))));

      expect((await store.get(task.id))?.submitAttempts).toBe(50);
    });

    it('keeps the indexes whole under concurrent creates and finishes in one guild', async () => {
      const store = await openStore();
      const tasks = Array.from({ length: 30 }, (_, index) => makeTask({ createdAt: minutesAfterEpoch(index) }));

      await Promise.all(tasks.map((task) => store.create(task)));
      expect((await store.listUnfinished()).map((t) => t.id)).toEqual(tasks.map((t) => t.id));
      expect(await store.listByUser('g1', 'u1', 100)).toHaveLength(30);

      const finished = tasks.filter((_, index) => index % 2 === 0);
      await Promise.all(finished.map((task) => store.update(task.id, (t) => ({ ...t, state: 'cancelled' }))));
      expect((await store.listUnfinished()).map((t) => t.id)).toEqual(tasks.filter((_, index) => index % 2 === 1).map((t) => t.id));
    });

    it('reads a v0 record through upgradeTask, and an update writes it back as v1', async () => {
      const harness = await open();
      const task = makeTask();
      const v0: Partial<Task> = { ...task };
      delete v0.schemaVersion;
      delete v0.submitAttempts;
      await harness.plantRawTask(task.id, v0);

      const read = await harness.store.get(task.id);
      expect(read).toEqual({ ...task, schemaVersion: 1, submitAttempts: 0 });

      const updated = await harness.store.update(task.id, (t) => ({ ...t, submitAttempts: t.submitAttempts + 1 }));
      expect(updated).toMatchObject({ schemaVersion: 1, submitAttempts: 1 });
    });

    it('rejects a record written by a newer schema instead of guessing', async () => {
      const harness = await open();
      const future = { ...makeTask(), schemaVersion: 99 };
      await harness.plantRawTask(future.id, future);

      await expect(harness.store.get(future.id)).rejects.toBeInstanceOf(UnsupportedTaskSchemaError);
    });

    it('close waits for pending writes, then refuses new operations', async () => {
      const store = await openStore();
      const task = makeTask();
      await store.create(task);

      const pending = Promise.all(
        Array.from({ length: 10 }, () => store.update(task.id, (t) => ({ ...t, submitAttempts: t.submitAttempts + 1 }))),
      );
      await store.close();

      await expect(pending).resolves.toHaveLength(10);
      await expect(store.get(task.id)).rejects.toThrow(/closed/);
      await expect(store.create(makeTask())).rejects.toThrow(/closed/);
    });

    it.skipIf(!options.persistent)('keeps tasks and indexes across close and reopen', async () => {
      const scope = `reopen${scopeCounter}`;
      const first = await open(scope);
      const task = makeTask({ createdAt: minutesAfterEpoch(1) });
      const done = makeTask({ createdAt: minutesAfterEpoch(2) });
      await first.store.create(task);
      await first.store.create(done);
      await first.store.update(task.id, (t) => transition(t, 'submitting', new Date()));
      await first.store.update(task.id, (t) => transition(t, 'submitted', new Date(), { providerTaskId: 'prov-reopen' }));
      await first.store.update(done.id, (t) => ({ ...t, state: 'cancelled' }));
      const expected = await first.store.get(task.id);
      await first.close();
      opened.splice(opened.indexOf(first), 1);

      const second = await open(scope);

      expect(await second.store.get(task.id)).toEqual(expected);
      expect((await second.store.listUnfinished()).map((t) => t.id)).toEqual([task.id]);
      expect((await second.store.getByProviderTaskId('prov-reopen'))?.id).toBe(task.id);
      expect((await second.store.listByUser('g1', 'u1', 10)).map((t) => t.id)).toEqual([done.id, task.id]);
    });
  });
}
