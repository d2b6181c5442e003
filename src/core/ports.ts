import type { ServiceId } from './models/catalogue.js';
import type { FailureReason, GenerationRequest, Task } from './task.js';

/** Wall clock, injected so tests control time. */
export interface Clock {
  now(): Date;
}

/** The system clock. */
export const systemClock: Clock = { now: () => new Date() };

/** What the provider said about one submitted task. */
export type RemoteStatus =
  { kind: 'pending' } | { kind: 'succeeded'; videoUrl: string } | { kind: 'failed'; code: string; message: string };

/** Result of one submit; the core decides from the kind whether a resubmit is safe. */
export type SubmitOutcome =
  | { kind: 'accepted'; providerTaskId: string }
  /** 429: the provider surely did not accept it; the job goes back to the queue. */
  | { kind: 'rate_limited'; retryAfterMs?: number }
  /** invalid_token, used_up, token_expired, token_mismatched, no_token: stop all submits. */
  | { kind: 'account_problem'; code: string; message: string }
  /**
   * The service (api_not_implemented, no_api, disabled, a 404 on its path) or this model (an unknown
   * or invalid model) is not served: only that model stops, surely not accepted, nothing billed.
   */
  | { kind: 'model_unavailable'; scope: 'service' | 'model'; code: string; message: string }
  /** A 4xx about this request (bad_request, forbidden/moderation): the member sees the message. */
  | { kind: 'rejected'; code: string; message: string }
  /** Timeout, 5xx or dropped connection: it may have been accepted; never resubmitted. */
  | { kind: 'uncertain'; code: string; message: string };

/** Result of one batched status request. */
export type StatusBatchOutcome =
  /** Ids the provider did not return are absent from the map (treated as still pending). */
  | { kind: 'ok'; statuses: Map<string, RemoteStatus> }
  | { kind: 'error'; code: string; message: string; retryable: boolean; retryAfterMs?: number };

/** Ace Data Cloud's video services as the core needs them (the model's service is in the catalogue). */
export interface VideoApi {
  /** `callbackUrl`: where the provider POSTs the result (when the bot is reachable). */
  submit(request: GenerationRequest, options?: { callbackUrl?: string }): Promise<SubmitOutcome>;
  /** Statuses from one service's tasks endpoint; at most that service's `maxBatchIds` ids per call. */
  retrieveBatch(service: ServiceId, providerTaskIds: readonly string[]): Promise<StatusBatchOutcome>;
}

/** The task ledger. Implementations serialize writes per task; `update` is read-modify-write. */
export interface TaskStore {
  create(task: Task): Promise<void>;
  get(id: string): Promise<Task | undefined>;
  /** Finds a task by the provider's task id (for `/sora status`). */
  getByProviderTaskId(providerTaskId: string): Promise<Task | undefined>;
  /** Applies `change` to the stored task atomically (within this process) and returns the result. */
  update(id: string, change: (task: Task) => Task): Promise<Task>;
  /** Every task in an unfinished state, oldest first. */
  listUnfinished(): Promise<Task[]>;
  /** The member's most recent tasks in a guild, newest first. */
  listByUser(guildId: string, userId: string, limit: number): Promise<Task[]>;
  /** The tasks created on these UTC days (`YYYY-MM-DD`), in one guild or in every guild; oldest first. */
  listCreatedOn(utcDays: readonly string[], guildId?: string): Promise<Task[]>;
  close(): Promise<void>;
}

/** A guild's own limits (its settings); an undefined field falls back to the bot's default. */
export interface GuildLimits {
  /** Generations per member per UTC day; 0 = unlimited. */
  memberDailyQuota?: number;
  /** Credits the guild may spend per UTC day (see `generationCredits`); 0 or undefined = no budget. */
  dailyBudgetCredits?: number;
}

/** Which tasks each guild started on each UTC day, for its budget (the ledger cannot list by guild). */
export interface GuildUsageLog {
  /** Records a task id before the task is created, so a crash can only leave an id without a task. */
  recordStart(guildId: string, utcDay: string, taskId: string): Promise<void>;
  /** The ids recorded for a guild and day, oldest first. */
  startedOn(guildId: string, utcDay: string): Promise<string[]>;
}

/** Outcome of publishing a task's result in its channel. */
export type PublishOutcome =
  | { kind: 'posted'; messageId: string; mode: 'upload' | 'link' | 'notice' }
  /** The channel is gone or the bot may not post there (10003, 50001, 50013): stop trying. */
  | { kind: 'undeliverable'; code: number | string; reason: string }
  /** A transient failure (rate limit, 5xx, network): try again later. */
  | { kind: 'retry'; retryAfterMs: number; reason: string };

/** Posts results as public channel messages with the bot token. */
export interface Publisher {
  /**
   * Publishes `task.outcome`. Idempotent by nonce (= task id); when `lookForExisting` is set the
   * publisher first looks for its own earlier message (the footer id) in the channel's recent history.
   */
  publish(task: Task, options: { lookForExisting: boolean }): Promise<PublishOutcome>;
}

/** Why a task's result could not be delivered where it was asked (the bot's live view of Discord). */
export type DeliveryBlockedReason = 'guild_gone' | 'channel_gone' | 'missing_permissions';

/** Answer of a {@link DeliveryCheck}; `permissions` names what the bot lacks (Discord's flag names). */
export type DeliveryCheckResult = { ok: true } | { ok: false; reason: DeliveryBlockedReason; permissions?: string[] };

/**
 * Whether a result could still be posted in a task's channel, from the bot's gateway cache (no REST
 * call): asked right before a submit, so nothing is spent on a video that cannot be delivered.
 */
export interface DeliveryCheck {
  check(target: { guildId: string; channelId: string }): DeliveryCheckResult;
}

/** Best-effort updates of the member's ephemeral reply while the interaction token lives. */
export interface ProgressReporter {
  report(task: Task, view: ProgressView): Promise<void>;
  /**
   * Holds the task's edits until `shown` settles: the command's own answer creates the reply, so an
   * edit sent before it would find no message (and a late answer would overwrite a newer view).
   */
  holdUntilShown?(task: Task, shown: Promise<unknown>): void;
}

/** What the ephemeral reply shows. */
export type ProgressView =
  | { kind: 'queued'; position: number; providerBusy: boolean; eta?: QueuedEta }
  | { kind: 'generating'; elapsedMs: number; readyAtMs?: number }
  | { kind: 'account_problem' }
  | { kind: 'failed'; reason: FailureReason }
  /** Ended unsubmitted: the result could not have been posted (nothing was spent). */
  | { kind: 'delivery_blocked'; reason: DeliveryBlockedReason; permissions?: string[] }
  | { kind: 'finished' };

/** When a waiting generation is expected to start and be ready (epoch ms; ready unknown: undefined). */
export interface QueuedEta {
  startAtMs: number;
  readyAtMs: number | undefined;
}

/** How long generations usually take, learned from the last finished ones (the poller learns them). */
export interface GenerationTimes {
  /** The typical time of a request's model and length, or undefined until a few have finished. */
  expectedMs(request: { model: string; duration?: number | undefined }): number | undefined;
}

/** The slice of pino's Logger the core uses (so the core does not import pino). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, string | number>): Logger;
}

/** Timers, injected so tests can drive them (vitest fake timers also work with the default). */
export interface Timers {
  setTimeout(callback: () => void, ms: number): NodeJS.Timeout;
  clearTimeout(handle: NodeJS.Timeout): void;
}

/** The process's timers; `unref` so a pending wake-up never keeps the process alive on shutdown. */
export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle),
};

/**
 * Leases on guilds, so one process at a time follows a guild's tasks (several processes on one
 * Redis). A lease expires unless renewed, so a dead process's guilds are taken back after the TTL.
 */
export interface GuildLeases {
  /** Takes a guild's lease, or confirms this process holds it; false while another process does. */
  claim(guildId: string): Promise<boolean>;
  /**
   * Extends every lease this process holds (taking back one that expired while nobody took it);
   * returns the guilds whose lease another process holds now.
   */
  renew(guildIds: readonly string[]): Promise<string[]>;
  /** Gives leases back (shutdown), so a successor need not wait for them to expire. */
  release(guildIds: readonly string[]): Promise<void>;
}

/** A queued task a process offers for the next slot: the next task of one of its guilds. */
export interface SlotCandidate {
  guildId: string;
  taskId: string;
}

/** Answer of `SlotPool.tryTake`: a slot for one of the candidates, or when to ask again. */
export type SlotAnswer = ({ taken: true } & SlotCandidate) | { taken: false; retryInMs: number };

/**
 * The account's generation slots shared by every process: the global cap, submit pacing and one
 * round-robin over every process's waiting guilds; each slot is held by a task id until the
 * generation ends.
 */
export interface SlotPool {
  /**
   * Offers this process's candidates (one per guild that may submit now; they replace its earlier
   * offer) and takes a slot for the one whose guild's turn it is account-wide.
   */
  tryTake(candidates: readonly SlotCandidate[]): Promise<SlotAnswer>;
  /** This process has nothing to offer now: its guilds leave the account-wide round-robin. */
  withdraw(): Promise<void>;
  release(taskId: string): Promise<void>;
  /** Holds every process's submits for `ms` (the provider answered 429: it is the account that is busy). */
  pause(ms: number): Promise<void>;
  /** For a guild just taken over: its slots become exactly those of `runningTaskIds` (leaks of a crash are dropped). */
  reconcile(guildId: string, runningTaskIds: readonly string[]): Promise<void>;
  /** Guilds that hold a slot, so a restart also takes over guilds whose only trace is a leaked slot. */
  guildsHoldingSlots(): Promise<string[]>;
  /** Calls `listener` when another process frees a slot. */
  onFreed(listener: () => void): void;
}

/** The hash of the slash commands this bot registered last, per application and target (guild or global). */
export interface RegisteredCommandsRecord {
  get(key: string): Promise<string | undefined>;
  set(key: string, hash: string): Promise<void>;
}
