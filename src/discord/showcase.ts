import { Routes, type APIMessage, type REST } from 'discord.js';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { Task } from '../core/task.js';
import type { SettingsStore } from '../settings/settings-store.js';
import { createKeyMutex } from '../store/key-mutex.js';
import type { StoreBackend } from '../store/open-store.js';
import type { Showcase, ShareOutcome } from './command.js';
import { classifyDiscordError, describeDiscordError } from './discord-errors.js';
import { renderShowcaseMessage, videoFileName } from './render.js';
import { downloadVideoUpload, postMultipartMessage } from './video-upload.js';
import type { MultipartUpload } from './video-upload.js';

/** The keyv namespace that remembers shared results: `<taskId>` → where it was posted. */
export const SHOWCASE_NAMESPACE = 'showcase';
const DEFAULT_FETCH_TIMEOUT_MS = 120_000;

interface SharedRecord {
  channelId: string;
  messageId: string;
}

/** Options of {@link createShowcase}. */
export interface ShowcaseOptions {
  rest: REST;
  settings: SettingsStore;
  backend: StoreBackend;
  fetchTimeoutMs?: number;
  dispatcher?: Dispatcher;
  logger?: Logger;
}

/**
 * Shares delivered videos to the guild's showcase channel, each at most once: the record is kept in
 * the store (across restarts), writes are serialized per task here, and the post's nonce makes a
 * repeat within a few minutes return the first message.
 */
export function createShowcase(options: ShowcaseOptions): Showcase {
  const { rest, settings, logger, dispatcher } = options;
  const shared = options.backend.keyv<SharedRecord>(SHOWCASE_NAMESPACE);
  const mutex = createKeyMutex();
  const fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;

  async function shareNow(task: Task): Promise<ShareOutcome> {
    const outcome = task.outcome;
    if (task.state !== 'delivered' || outcome?.kind !== 'succeeded') return { kind: 'not_a_video' };
    const earlier = await shared.get(task.id);
    if (earlier) return { kind: 'already_shared', ...earlier };
    const channelId = (await settings.get(task.guildId)).showcaseChannelId;
    if (!channelId) return { kind: 'no_channel' };
    const log = logger?.child({ taskId: task.id, guildId: task.guildId, channelId });

    let message: APIMessage;
    try {
      const download = await downloadVideoUpload(
        outcome.videoUrl,
        task.uploadLimitBytes,
        renderShowcaseMessage(task, outcome.videoUrl, 'upload'),
        videoFileName(task),
        {
          fetchTimeoutMs,
          ...(dispatcher ? { dispatcher } : {}),
          ...(log ? { log } : {}),
        },
      );
      const uploaded = download.ok ? await upload(channelId, download.upload) : undefined;
      message =
        uploaded ??
        ((await rest.post(Routes.channelMessages(channelId), {
          body: renderShowcaseMessage(task, outcome.videoUrl, 'link'),
        })) as APIMessage);
    } catch (error) {
      const classified = classifyDiscordError(error);
      log?.warn({ error: describeDiscordError(error), kind: classified.kind }, 'showcase post failed');
      return { kind: 'failed', reason: classified.reason };
    }
    const record = { channelId, messageId: message.id };
    await shared.set(task.id, record);
    log?.info({ messageId: message.id }, 'shared to the showcase');
    return { kind: 'shared', ...record };
  }

  /** The upload, or undefined when Discord finds it too large (then the link is posted). */
  async function upload(channelId: string, multipart: MultipartUpload): Promise<APIMessage | undefined> {
    try {
      return await postMultipartMessage(rest, channelId, multipart);
    } catch (error) {
      if (classifyDiscordError(error).kind === 'too_large') return undefined;
      throw error;
    }
  }

  return {
    share: (task) => mutex.run(task.id, () => shareNow(task)),
  };
}

/**
 * The delivery listener of auto-showcase: a video delivered in a guild that turned it on is shared
 * to the guild's showcase channel, in the background (a failed share never holds up a delivery).
 */
export function autoShowcase(
  showcase: Showcase,
  enabledIn: (guildId: string) => boolean,
  logger?: { debug(obj: object, msg?: string): void; warn(obj: object, msg?: string): void },
): (task: Task) => void {
  return (task) => {
    if (task.state !== 'delivered' || task.outcome?.kind !== 'succeeded' || !enabledIn(task.guildId)) return;
    void showcase.share(task).then(
      (outcome) => logger?.debug({ taskId: task.id, outcome: outcome.kind }, 'auto-showcase'),
      (err: unknown) => logger?.warn({ err, taskId: task.id }, 'auto-showcase failed'),
    );
  };
}
