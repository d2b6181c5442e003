import type { TaskStore } from '../../src/core/ports.js';
import { isUnfinished, type Task, type TaskState } from '../../src/core/task.js';

/** One state change the store recorded, in write order. */
export interface StateChange {
  id: string;
  from: TaskState;
  to: TaskState;
}

const copy = (task: Task): Task => structuredClone(task);
const byCreatedAt = (a: Task, b: Task): number => Date.parse(a.createdAt) - Date.parse(b.createdAt);

/**
 * An in-memory TaskStore for core tests: JSON-safe copies in and out (no shared references),
 * `update` serialized per task, and a log of every state change.
 */
export class MemoryTaskStore implements TaskStore {
  private readonly tasks = new Map<string, Task>();
  private readonly tails = new Map<string, Promise<unknown>>();
  /** Every state change in write order. */
  readonly stateChanges: StateChange[] = [];
  closed = false;

  create(task: Task): Promise<void> {
    if (this.tasks.has(task.id)) return Promise.reject(new Error(`task ${task.id} already exists`));
    this.tasks.set(task.id, copy(task));
    return Promise.resolve();
  }

  get(id: string): Promise<Task | undefined> {
    const task = this.tasks.get(id);
    return Promise.resolve(task && copy(task));
  }

  getByProviderTaskId(providerTaskId: string): Promise<Task | undefined> {
    const task = [...this.tasks.values()].find((t) => t.providerTaskId === providerTaskId);
    return Promise.resolve(task && copy(task));
  }

  update(id: string, change: (task: Task) => Task): Promise<Task> {
    const previous = this.tails.get(id) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => {
        const current = this.tasks.get(id);
        if (!current) throw new Error(`task ${id} not found`);
        const updated = copy(change(copy(current)));
        this.tasks.set(id, updated);
        if (updated.state !== current.state) this.stateChanges.push({ id, from: current.state, to: updated.state });
        return copy(updated);
      });
    this.tails.set(id, next);
    return next;
  }

  listCreatedOn(utcDays: readonly string[], guildId?: string): Promise<Task[]> {
    const days = new Set(utcDays);
    const tasks = [...this.tasks.values()].filter(
      (t) => (guildId === undefined || t.guildId === guildId) && days.has(t.createdAt.slice(0, 10)),
    );
    return Promise.resolve(tasks.sort(byCreatedAt).map(copy));
  }

  listUnfinished(): Promise<Task[]> {
    return Promise.resolve([...this.tasks.values()].filter(isUnfinished).sort(byCreatedAt).map(copy));
  }

  listByUser(guildId: string, userId: string, limit: number): Promise<Task[]> {
    const mine = [...this.tasks.values()].filter((t) => t.guildId === guildId && t.userId === userId);
    return Promise.resolve(mine.sort(byCreatedAt).reverse().slice(0, limit).map(copy));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** Every stored task (test helper), in insertion order. */
  all(): Task[] {
    return [...this.tasks.values()].map(copy);
  }

  /** The states a task went through, starting with the one it was created in. */
  statesOf(id: string, initial: TaskState = 'queued'): TaskState[] {
    return [initial, ...this.stateChanges.filter((c) => c.id === id).map((c) => c.to)];
  }
}
