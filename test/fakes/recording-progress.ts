import type { ProgressReporter, ProgressView } from '../../src/core/ports.js';
import type { Task } from '../../src/core/task.js';

/** Records every progress update. */
export class RecordingProgress implements ProgressReporter {
  readonly reports: { taskId: string; state: Task['state']; view: ProgressView }[] = [];

  report(task: Task, view: ProgressView): Promise<void> {
    this.reports.push({ taskId: task.id, state: task.state, view });
    return Promise.resolve();
  }

  /** The views shown for one task, in order. */
  viewsFor(taskId: string): ProgressView[] {
    return this.reports.filter((r) => r.taskId === taskId).map((r) => r.view);
  }
}
