import type { RemoteStatus } from './ports.js';
import type { Task } from './task.js';

/** How long to follow a task (docs/crash-outcomes.md §3: 30 min, then a slow check for 24 h). */
export interface FollowRules {
  pollGiveUpMs: number;
  lateResultWindowMs: number;
}

/** What to do with a followed task after one status answer. */
export type PollDecision =
  | { kind: 'wait' }
  | { kind: 'succeeded'; videoUrl: string }
  | { kind: 'failed'; code: string; message: string }
  /** Stop fast polling and tell the member; keep a slow check. */
  | { kind: 'timed_out' }
  /** The late-result window closed too: stop following. */
  | { kind: 'expired' };

/** Decides a followed task's next step from the provider's answer (undefined: not in the answer). Pure. */
export function decide(task: Task, remote: RemoteStatus | undefined, now: Date, rules: FollowRules): PollDecision {
  if (remote?.kind === 'succeeded') return { kind: 'succeeded', videoUrl: remote.videoUrl };
  if (remote?.kind === 'failed') return { kind: 'failed', code: remote.code, message: remote.message };

  const submittedAtMs = Date.parse(task.submittedAt ?? task.createdAt);
  const waitedMs = now.getTime() - submittedAtMs;
  if (task.state === 'submitted' && waitedMs >= rules.pollGiveUpMs) return { kind: 'timed_out' };
  if (task.state === 'timed_out' && waitedMs >= rules.lateResultWindowMs) return { kind: 'expired' };
  return { kind: 'wait' };
}
