import type { Publisher, PublishOutcome, TaskStore } from '../../src/core/ports.js';
import type { Task, TaskState } from '../../src/core/task.js';

/** One recorded publish call. */
export interface PublishCall {
  task: Task;
  lookForExisting: boolean;
  /** The task's state in the store at the moment of the call (when a store was given). */
  stateInStore: TaskState | undefined;
  result: PublishOutcome;
}

/** Records publish calls; answers from a script, then `posted` (a notice for non-video outcomes). */
export class MemoryPublisher implements Publisher {
  readonly calls: PublishCall[] = [];
  private readonly script: (PublishOutcome | Error)[] = [];

  constructor(private readonly store?: TaskStore) {}

  /** The next publishes answer these, in order (an Error is thrown and not recorded as a call). */
  scriptOutcomes(...outcomes: (PublishOutcome | Error)[]): void {
    this.script.push(...outcomes);
  }

  /** Drops what is left of the script (back to posting everything). */
  clearScript(): void {
    this.script.length = 0;
  }

  async publish(task: Task, options: { lookForExisting: boolean }): Promise<PublishOutcome> {
    const stored = this.store ? await this.store.get(task.id) : undefined;
    const scripted = this.script.shift();
    if (scripted instanceof Error) throw scripted;
    const result: PublishOutcome = scripted ?? {
      kind: 'posted',
      messageId: `msg-${this.calls.length + 1}`,
      mode: task.outcome?.kind === 'succeeded' ? 'upload' : 'notice',
    };
    this.calls.push({ task: structuredClone(task), lookForExisting: options.lookForExisting, stateInStore: stored?.state, result });
    return result;
  }

  /** Calls for one task. */
  callsFor(taskId: string): PublishCall[] {
    return this.calls.filter((c) => c.task.id === taskId);
  }

  /** Posted messages carrying a video result for a task (the "exactly once" check). */
  resultsPostedFor(taskId: string): number {
    return this.callsFor(taskId).filter((c) => c.result.kind === 'posted' && c.task.outcome?.kind === 'succeeded').length;
  }
}
