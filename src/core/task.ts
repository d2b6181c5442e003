import type { Orientation } from './models/catalogue.js';

export { ORIENTATIONS, type Orientation } from './models/catalogue.js';

/**
 * What is sent to the provider for one generation, in the catalogue's words (the wire body is built
 * from it and the model's entry in `models/catalogue.ts`). Options the model does not take are absent.
 */
export interface GenerationRequest {
  prompt: string;
  /** Catalogue id (`MODEL_CATALOGUE`), e.g. `veo31-fast` or `sora-2`. */
  model: string;
  /** Seconds, one of the model's `durations`; absent for models without a duration. */
  duration?: number;
  orientation?: Orientation;
  /** One of the model's `sizes` (quality, resolution or pixel size). */
  size?: string;
  /** Public URL of the first reference image (or first frame); a Discord attachment URL. */
  imageUrl?: string;
  /** Further reference images, for models that take several. */
  extraImageUrls?: string[];
  /** Last frame, for models that take one. */
  endImageUrl?: string;
  /** What the video should avoid, for models that take a negative prompt. */
  negativePrompt?: string;
  /** Sora character video: a clip with the character, and where in it the character appears (seconds). */
  character?: { videoUrl: string; startSeconds: number; endSeconds: number };
}

/**
 * The ledger's state machine (docs/architecture.md §3, docs/crash-outcomes.md):
 * queued → submitting → submitted → (succeeded | failed | timed_out) → posting → delivered | undeliverable.
 * `interrupted` is a submit whose answer was lost in a crash: never resubmitted, the member is told.
 * `timed_out` keeps a slow check running and may still turn into `succeeded` or `failed`; when the
 * late-result window closes too it ends as `expired`.
 */
export const TASK_STATES = [
  'queued',
  'submitting',
  'submitted',
  'succeeded',
  'failed',
  'timed_out',
  'interrupted',
  'posting',
  'delivered',
  'undeliverable',
  'expired',
  'cancelled',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/**
 * Why something failed, for people: a code the Discord layer words in the reader's language, and its
 * parameters. The core writes no prose for members; the provider's own words stay in `message`.
 */
export interface FailureReason {
  code: FailureReasonCode;
  params: Record<string, string | number>;
}
export type FailureReasonCode =
  /** The submit's answer was lost (`params.code`): it was not sent again. */
  | 'submit_unconfirmed'
  /** The result could not be posted in `params.channelId` (`params.reason`, Discord's answer). */
  | 'not_posted';

/** The result a `posting` task is about to publish. */
export type TaskOutcome =
  | { kind: 'succeeded'; videoUrl: string }
  /**
   * `message`: the provider's own words ('' when the bot ended the task); `reason`: the bot's, as a
   * code (records written before it carry English in `message`, and still render).
   */
  | { kind: 'failed'; code: string; message: string; reason?: FailureReason }
  | { kind: 'timed_out' }
  | { kind: 'interrupted' };

/** One command's ledger entry; JSON-safe (ISO strings for times). */
export interface Task {
  schemaVersion: 1;
  /** Our short id (≤ 25 chars): shown to the member, the result's footer, and the message nonce. */
  id: string;
  guildId: string;
  channelId: string;
  userId: string;
  /** Interaction webhook for the ephemeral progress reply; it dies after 15 minutes. */
  interaction?: { applicationId: string; token: string; expiresAt: string };
  request: GenerationRequest;
  state: TaskState;
  /** Bytes the bot may upload in this guild, read from the interaction when the command arrived. */
  uploadLimitBytes: number;
  /** Discord locale of the guild, for the public result message. */
  locale?: string;
  /** Discord locale of the member who asked, for their ephemeral progress reply. */
  memberLocale?: string;
  providerTaskId?: string;
  /** Per-task secret in the provider callback URL; compared in constant time. */
  callbackSecret?: string;
  /** The last finished (or given-up) result; `posting` publishes it. */
  outcome?: TaskOutcome;
  /** Whether the "still generating, gave up waiting" notice was already posted. */
  timeoutNoticePosted?: boolean;
  resultMessageId?: string;
  deliveryMode?: 'upload' | 'link' | 'notice';
  undeliverableReason?: string;
  submitAttempts: number;
  createdAt: string;
  updatedAt: string;
  submittedAt?: string;
  finishedAt?: string;
  postingStartedAt?: string;
  deliveredAt?: string;
}

/** States that still need work from this process (queue, poller or publisher). */
export const UNFINISHED_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'queued',
  'submitting',
  'submitted',
  'succeeded',
  'failed',
  'timed_out',
  'interrupted',
  'posting',
]);

/** States that hold one of the account's generation slots. */
export const RUNNING_STATES: ReadonlySet<TaskState> = new Set<TaskState>(['submitting', 'submitted']);

const ALLOWED_TRANSITIONS: Record<TaskState, readonly TaskState[]> = {
  // `failed` without a submit: its model stopped being served while it waited.
  queued: ['submitting', 'cancelled', 'failed'],
  // 429 (surely not accepted) puts it back in the queue.
  submitting: ['submitted', 'queued', 'failed', 'interrupted'],
  // Cancel of a running task only stops following it: the provider has no cancel.
  submitted: ['succeeded', 'failed', 'timed_out', 'cancelled'],
  succeeded: ['posting'],
  failed: ['posting'],
  interrupted: ['posting'],
  // A timed-out task first posts its notice, then may still finish.
  timed_out: ['posting', 'succeeded', 'failed', 'expired', 'cancelled'],
  posting: ['delivered', 'undeliverable', 'timed_out'],
  delivered: [],
  undeliverable: [],
  expired: [],
  cancelled: [],
};

/** Thrown when code asks for a transition the state machine forbids: always a bug. */
export class InvalidTransitionError extends Error {
  constructor(
    readonly taskId: string,
    readonly from: TaskState,
    readonly to: TaskState,
  ) {
    super(`task ${taskId}: invalid transition ${from} → ${to}`);
    this.name = 'InvalidTransitionError';
  }
}

/** Whether the ledger may move a task from one state to another. */
export function canTransition(from: TaskState, to: TaskState): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

/** Returns the task in its new state with the given fields, or throws InvalidTransitionError. */
export function transition(task: Task, to: TaskState, now: Date, fields: Partial<Omit<Task, 'id' | 'state' | 'schemaVersion'>> = {}): Task {
  if (!canTransition(task.state, to)) throw new InvalidTransitionError(task.id, task.state, to);
  return { ...task, ...fields, state: to, updatedAt: now.toISOString() };
}

/** Whether the task holds a generation slot or waits for one. */
export function isUnfinished(task: Task): boolean {
  return UNFINISHED_STATES.has(task.state);
}
