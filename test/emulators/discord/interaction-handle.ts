import { CallbackKind } from './interactions.js';
import type { RecordedCallback, RecordedWebhookCall } from './interactions.js';
import type { EmulatorState, RecordedMessage } from './state.js';

/** Waits until `predicate` returns a value (not undefined/null/false), or rejects after `timeoutMs`. */
export type WaitFn = <T>(predicate: () => T | undefined | null | false, timeoutMs: number, what: string) => Promise<T>;

/** How an interaction was created. */
export interface InteractionInit {
  id: string;
  token: string;
  type: number;
  /** What was dispatched as INTERACTION_CREATE `d`. */
  payload: Record<string, unknown>;
  guildId: string | null;
  channelId: string;
  userId: string;
  /** Emulator clock time of the dispatch; the ack deadline and token lifetime count from here. */
  sentAt: number;
  ackDeadlineMs: number;
  tokenTtlMs: number;
  attachmentSizeLimit: number;
  /** Live gateway sessions that received the dispatch (0: nobody was connected). */
  deliveredTo: number;
  /** For component interactions: the message the component is on. */
  componentMessageId: string | null;
}

/** One interaction sent by the emulator, with everything the bot did with it. */
export class InteractionHandle {
  readonly id: string;
  readonly token: string;
  readonly type: number;
  readonly payload: Record<string, unknown>;
  readonly guildId: string | null;
  readonly channelId: string;
  readonly userId: string;
  readonly sentAt: number;
  readonly ackDeadlineMs: number;
  readonly attachmentSizeLimit: number;
  readonly deliveredTo: number;
  readonly componentMessageId: string | null;
  /** Every callback attempt, accepted or rejected, in order. */
  readonly callbacks: RecordedCallback[] = [];
  /** Every webhook call made with this interaction's token, in order. */
  readonly webhookCalls: RecordedWebhookCall[] = [];
  /** Ids of follow-up messages, in order (the original's id when a first follow-up replaced a deferred response). */
  readonly followUpIds: string[] = [];
  ackedAt: number | null = null;
  ackType: number | null = null;
  /** The message `@original` refers to (none before a message-producing ack). */
  originalMessageId: string | null = null;
  tokenExpiresAt: number;

  constructor(
    init: InteractionInit,
    private readonly state: EmulatorState,
    private readonly wait: WaitFn,
    private readonly now: () => number,
  ) {
    this.id = init.id;
    this.token = init.token;
    this.type = init.type;
    this.payload = init.payload;
    this.guildId = init.guildId;
    this.channelId = init.channelId;
    this.userId = init.userId;
    this.sentAt = init.sentAt;
    this.ackDeadlineMs = init.ackDeadlineMs;
    this.attachmentSizeLimit = init.attachmentSizeLimit;
    this.deliveredTo = init.deliveredTo;
    this.componentMessageId = init.componentMessageId;
    this.tokenExpiresAt = init.sentAt + init.tokenTtlMs;
  }

  /** True once a callback was accepted. */
  get acked(): boolean {
    return this.ackedAt !== null;
  }

  /** Time from dispatch to the accepted callback. */
  get ackLatencyMs(): number | null {
    return this.ackedAt === null ? null : this.ackedAt - this.sentAt;
  }

  /** The current state of the `@original` message. */
  get original(): RecordedMessage | undefined {
    return this.originalMessageId ? this.state.messages.get(this.originalMessageId) : undefined;
  }

  /** Follow-up messages, in order. */
  get followUps(): RecordedMessage[] {
    return this.followUpIds.map((id) => this.state.messages.get(id)).filter((m) => m !== undefined);
  }

  /** Accepted edits of `@original`, in order. */
  get originalEdits(): RecordedWebhookCall[] {
    return this.webhookCalls.filter((c) => c.method === 'PATCH' && c.target === '@original' && c.status === 200);
  }

  /** True once the token's lifetime is over. */
  get tokenExpired(): boolean {
    return this.now() > this.tokenExpiresAt;
  }

  /** Ends the token's lifetime now (webhook calls then answer 50027), instead of waiting 15 minutes. */
  expireToken(): void {
    this.tokenExpiresAt = this.now() - 1;
  }

  /** The modal the bot opened in answer (callback type 9), if it did. */
  get modal(): Record<string, unknown> | undefined {
    const callback = this.callbacks.find((c) => c.status < 300 && c.type === CallbackKind.Modal);
    return callback ? (callback.data ?? {}) : undefined;
  }

  /** Resolves with the modal the bot opened (its `title`, `custom_id` and `components`). */
  waitForModal(timeoutMs = 5000): Promise<Record<string, unknown>> {
    return this.wait(() => this.modal, timeoutMs, `a modal in answer to interaction ${this.id}`);
  }

  /** Resolves with the accepted callback. */
  waitForAck(timeoutMs = 5000): Promise<RecordedCallback> {
    return this.wait(() => this.callbacks.find((c) => c.status < 300), timeoutMs, `ack of interaction ${this.id}`);
  }

  /** Resolves when `@original` exists and matches `predicate`. */
  waitForOriginal(predicate: (m: RecordedMessage) => boolean = () => true, timeoutMs = 5000): Promise<RecordedMessage> {
    return this.wait(
      () => {
        const original = this.original;
        return original && predicate(original) ? original : undefined;
      },
      timeoutMs,
      `original response of interaction ${this.id}`,
    );
  }

  /** Resolves with the first follow-up matching `predicate`. */
  waitForFollowUp(predicate: (m: RecordedMessage) => boolean = () => true, timeoutMs = 5000): Promise<RecordedMessage> {
    return this.wait(() => this.followUps.find(predicate), timeoutMs, `follow-up of interaction ${this.id}`);
  }
}
