import { z } from 'zod';
import { ORIENTATIONS, TASK_STATES } from '../core/task.js';
import type { Task } from '../core/task.js';

/** The schema version this build writes (`Task['schemaVersion']`). */
export const CURRENT_TASK_SCHEMA_VERSION = 1 satisfies Task['schemaVersion'];

/** A stored record's version is newer than this build understands (a rollback after an upgrade). */
export class UnsupportedTaskSchemaError extends Error {
  constructor(
    readonly taskId: string | undefined,
    readonly schemaVersion: unknown,
  ) {
    super(
      `task ${taskId ?? '?'}: stored schema version ${String(schemaVersion)} ` +
        `is newer than this build's ${CURRENT_TASK_SCHEMA_VERSION}`,
    );
    this.name = 'UnsupportedTaskSchemaError';
  }
}

/** A task about to be written is not a well-formed, JSON-safe `Task`: always a bug in the caller. */
export class InvalidTaskRecordError extends Error {
  constructor(
    readonly taskId: string | undefined,
    readonly issues: string,
  ) {
    super(`task ${taskId ?? '?'}: not a valid task record: ${issues}`);
    this.name = 'InvalidTaskRecordError';
  }
}

const isoTime = z.iso.datetime({ offset: true });
const NO_WHITESPACE = /^\S+$/;

const taskSchema = z.strictObject({
  schemaVersion: z.literal(CURRENT_TASK_SCHEMA_VERSION),
  // ≤ 25 characters because the id doubles as the Discord message nonce; no whitespace because the
  // store's indexes are space-separated lists of these ids.
  id: z.string().max(25).regex(NO_WHITESPACE),
  guildId: z.string().regex(NO_WHITESPACE),
  channelId: z.string().min(1),
  userId: z.string().regex(NO_WHITESPACE),
  interaction: z.strictObject({ applicationId: z.string(), token: z.string(), expiresAt: isoTime }).optional(),
  // The model's allowed values are the catalogue's and checked before spend; a record keeps what was
  // sent, so a model later dropped from the catalogue still reads back.
  request: z.strictObject({
    prompt: z.string(),
    model: z.string().min(1),
    duration: z.number().int().optional(),
    orientation: z.enum(ORIENTATIONS).optional(),
    size: z.string().min(1).optional(),
    imageUrl: z.string().optional(),
    extraImageUrls: z.array(z.string()).optional(),
    endImageUrl: z.string().optional(),
    negativePrompt: z.string().optional(),
    character: z.strictObject({ videoUrl: z.string(), startSeconds: z.number(), endSeconds: z.number() }).optional(),
  }),
  state: z.enum(TASK_STATES),
  uploadLimitBytes: z.number().int().nonnegative(),
  locale: z.string().optional(),
  memberLocale: z.string().optional(),
  providerTaskId: z.string().min(1).optional(),
  callbackSecret: z.string().min(16).optional(),
  outcome: z
    .discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('succeeded'), videoUrl: z.string() }),
      z.strictObject({
        kind: z.literal('failed'),
        code: z.string(),
        message: z.string(),
        reason: z
          .strictObject({
            code: z.enum(['submit_unconfirmed', 'not_posted']),
            params: z.record(z.string(), z.union([z.string(), z.number()])),
          })
          .optional(),
      }),
      z.strictObject({ kind: z.literal('timed_out') }),
      z.strictObject({ kind: z.literal('interrupted') }),
    ])
    .optional(),
  timeoutNoticePosted: z.boolean().optional(),
  resultMessageId: z.string().optional(),
  deliveryMode: z.enum(['upload', 'link', 'notice']).optional(),
  undeliverableReason: z.string().optional(),
  submitAttempts: z.number().int().nonnegative(),
  createdAt: isoTime,
  updatedAt: isoTime,
  submittedAt: isoTime.optional(),
  finishedAt: isoTime.optional(),
  postingStartedAt: isoTime.optional(),
  deliveredAt: isoTime.optional(),
});

// Fails to compile when Task gains, loses or changes a field that the schema does not mirror.
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const schemaMirrorsTask: Equals<z.infer<typeof taskSchema>, Task> = true;
void schemaMirrorsTask;

/** Throws InvalidTaskRecordError unless `task` is a well-formed, JSON-safe Task of the current version. */
export function assertValidTask(task: Task): void {
  const result = taskSchema.safeParse(task);
  if (!result.success) {
    const id = typeof task?.id === 'string' ? task.id : undefined;
    throw new InvalidTaskRecordError(id, z.prettifyError(result.error));
  }
}

/**
 * Brings a stored record up to the current schema. v1 is returned as is; v0 (the first drafts,
 * without `schemaVersion` or `submitAttempts`) gains them. A newer version throws.
 */
export function upgradeTask(raw: unknown): Task {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidTaskRecordError(undefined, 'the stored value is not an object');
  }
  const record = raw as Record<string, unknown>;
  const version = record.schemaVersion ?? 0;
  if (version === CURRENT_TASK_SCHEMA_VERSION) return record as unknown as Task;
  if (version === 0) {
    return {
      ...record,
      schemaVersion: CURRENT_TASK_SCHEMA_VERSION,
      submitAttempts: typeof record.submitAttempts === 'number' ? record.submitAttempts : 0,
    } as unknown as Task;
  }
  throw new UnsupportedTaskSchemaError(typeof record.id === 'string' ? record.id : undefined, version);
}
