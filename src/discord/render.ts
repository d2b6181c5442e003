import type { APIActionRowComponent, APIButtonComponent, APIEmbed, APIEmbedField, RESTPostAPIChannelMessageJSONBody } from 'discord.js';
import type { QuotaLeft } from '../core/generation-service.js';
import type { DeliveryBlockedReason, ProgressView, QueuedEta } from '../core/ports.js';
import { findModel } from '../core/models/catalogue.js';
import { DELIVERY_BLOCKED_CODE, MODEL_UNAVAILABLE_CODE } from '../core/submit-scheduler.js';
import type { FailureReason, FailureReasonCode, Task, TaskOutcome, TaskState } from '../core/task.js';
import { t, type MessageKey } from '../i18n/index.js';
import { cancelButton, resultButtons } from './custom-ids.js';

// Discord's message limits (characters).
export const CONTENT_MAX = 2000;
export const EMBED_TITLE_MAX = 256;
export const EMBED_DESCRIPTION_MAX = 4096;
export const EMBED_FIELD_NAME_MAX = 256;
export const EMBED_FIELD_VALUE_MAX = 1024;
export const EMBED_FOOTER_MAX = 2048;
export const EMBED_TOTAL_MAX = 6000;
export const NONCE_MAX = 25;

const COLOR_SUCCESS = 0x2ecc71;
const COLOR_FAILURE = 0xe74c3c;
const COLOR_WAITING = 0xf1c40f;
const COLOR_NEUTRAL = 0x95a5a6;
const COLOR_WORKING = 0x3498db;

/** How a succeeded video reaches the channel: as a file, or as the provider's link (and why). */
export type ResultDelivery = { mode: 'upload' } | { mode: 'link'; reason?: 'too_large' | 'download_failed' };

/** Which public message a footer belongs to: the result itself, or the interim timeout notice. */
export type ResultMarker = 'video' | 'failed' | 'still generating' | 'interrupted';

/** A JSON body for an ephemeral reply (interaction edit or reply). */
export interface EphemeralMessageBody {
  content: string;
  embeds: APIEmbed[];
  allowed_mentions: { parse: [] };
  /** Set on progress replies: the Cancel button while waiting or running, none after. */
  components?: APIActionRowComponent<APIButtonComponent>[];
}

const MARKERS: Record<TaskOutcome['kind'], ResultMarker> = {
  succeeded: 'video',
  failed: 'failed',
  timed_out: 'still generating',
  interrupted: 'interrupted',
};

/** The footer marker the result message for this outcome kind carries. */
export function resultMarker(kind: TaskOutcome['kind']): ResultMarker {
  return MARKERS[kind];
}

/** The file name a result video is uploaded under. */
export function videoFileName(task: Pick<Task, 'id'>): string {
  return `sora-${task.id}.mp4`;
}

/** The nonce of the public message for this outcome (the task id; the timeout notice gets its own). */
export function resultNonce(task: Pick<Task, 'id'>, kind: TaskOutcome['kind']): string {
  if (kind !== 'timed_out') return task.id.slice(0, NONCE_MAX);
  // The timeout notice must not share the result's nonce, or a late result would be swallowed.
  return `${task.id.slice(0, NONCE_MAX - 2)}-t`;
}

/** The footer text of a result message: `Task <id> · <marker>[ · Ace Data Cloud task <id>]`. */
export function resultFooter(
  task: Pick<Task, 'id' | 'providerTaskId'> & { request?: Pick<Task['request'], 'model'> },
  kind: TaskOutcome['kind'],
): string {
  const model = task.request ? ` · ${task.request.model}` : '';
  const provider = task.providerTaskId ? ` · Ace Data Cloud task ${task.providerTaskId}` : '';
  return truncate(`Task ${task.id} · ${resultMarker(kind)}${model}${provider}`, EMBED_FOOTER_MAX);
}

const FOOTER_PATTERN = /^Task (\S+) · (video|failed|still generating|interrupted)(?: · |$)/;

/** Reads our task id and marker back from a result footer; undefined for any other footer. */
export function parseResultFooter(text: string | undefined): { taskId: string; marker: ResultMarker } | undefined {
  const match = text === undefined ? null : FOOTER_PATTERN.exec(text);
  if (!match?.[1] || !match[2]) return undefined;
  return { taskId: match[1], marker: match[2] as ResultMarker };
}

/** The public channel message for a `posting` task's outcome. */
export function renderResultMessage(task: Task, delivery: ResultDelivery): RESTPostAPIChannelMessageJSONBody {
  const outcome: TaskOutcome = task.outcome ?? { kind: 'interrupted' };
  // Public: in the guild's language (the footer stays English, the publisher reads it back).
  const locale = task.locale;
  const mention = `<@${task.userId}>`;
  const outcomeFields: APIEmbedField[] = [];
  let content: string;
  let title: string;
  let color: number;
  let url: string | undefined;

  switch (outcome.kind) {
    case 'succeeded': {
      color = COLOR_SUCCESS;
      title = t(locale, 'result.titleVideo', { model: modelName(task.request.model) });
      if (delivery.mode === 'upload') {
        content = t(locale, 'result.ready', { mention });
      } else {
        // A bare link in the content lets Discord unfurl it into a player.
        const withLink = t(locale, 'result.readyLink', { mention, url: outcome.videoUrl });
        const linkInContent = withLink.length <= CONTENT_MAX;
        content = linkInContent ? withLink : t(locale, 'result.readyFromTitle', { mention });
        // Discord rejects an embed url longer than 2048 characters.
        url = isWebUrl(outcome.videoUrl) && outcome.videoUrl.length <= 2048 ? outcome.videoUrl : undefined;
        outcomeFields.push({
          name: t(locale, 'result.fieldVideo'),
          value: linkFieldValue(outcome.videoUrl, linkInContent, delivery.reason, task),
        });
      }
      break;
    }
    case 'failed':
      color = COLOR_FAILURE;
      title = t(locale, 'result.titleFailed', { model: modelName(task.request.model) });
      content = t(locale, 'result.failed', { mention });
      outcomeFields.push({
        name: t(locale, 'result.fieldReason'),
        value: fitField((reason) => `${reason}\n${t(locale, 'result.notBilled')}`, failureReason(outcome, task, locale)),
      });
      break;
    case 'timed_out': {
      color = COLOR_WAITING;
      title = t(locale, 'result.titleTimedOut', { model: modelName(task.request.model) });
      content = t(locale, 'result.timedOut', { mention });
      const minutes = Math.max(1, Math.round(generationTimeMs(task) / 60_000));
      outcomeFields.push({
        name: t(locale, 'result.fieldStatus'),
        value: minutes === 1 ? t(locale, 'result.stillGenerating1') : t(locale, 'result.stillGenerating', { minutes }),
      });
      break;
    }
    case 'interrupted':
      color = COLOR_NEUTRAL;
      title = t(locale, 'result.titleInterrupted', { model: modelName(task.request.model) });
      content = t(locale, 'result.interrupted', { mention });
      outcomeFields.push({ name: t(locale, 'result.fieldWhatHappened'), value: t(locale, 'result.interruptedDetail') });
      break;
  }

  const embed = buildEmbed({
    title,
    color,
    url,
    prompt: task.request.prompt,
    fields: [...optionFields(task, locale), ...outcomeFields],
    footer: resultFooter(task, outcome.kind),
    timestamp: validIso(task.finishedAt),
  });

  const body: RESTPostAPIChannelMessageJSONBody = {
    content,
    embeds: [embed],
    // Only the member is pinged; nothing in the prompt or the API's text can ping anyone.
    allowed_mentions: { parse: [], users: [task.userId] },
    nonce: resultNonce(task, outcome.kind),
    enforce_nonce: true,
    // The timeout notice is interim: its buttons would act on a task that is still running.
    components:
      outcome.kind === 'timed_out'
        ? []
        : [resultButtons(task, outcome.kind === 'succeeded', locale, { switchModel: isModelUnavailable(outcome) })],
  };
  if (outcome.kind === 'succeeded' && delivery.mode === 'upload') {
    body.attachments = [{ id: 0, filename: videoFileName(task) }];
  }
  return body;
}

/** The showcase post of a delivered video (upload, or the provider's link — never a Discord CDN URL). */
export function renderShowcaseMessage(task: Task, videoUrl: string, mode: 'upload' | 'link'): RESTPostAPIChannelMessageJSONBody {
  const locale = task.locale;
  const credit = t(locale, 'result.showcaseCredit', { mention: `<@${task.userId}>`, model: modelName(task.request.model) });
  const withLink = `${credit}: ${videoUrl}`;
  const content = mode === 'link' && withLink.length <= CONTENT_MAX && isWebUrl(videoUrl) ? withLink : `${credit}.`;
  const fields: APIEmbedField[] = [...optionFields(task, locale)];
  if (task.resultMessageId) fields.push({ name: t(locale, 'result.showcaseOriginal'), value: messageLink(task, task.resultMessageId) });
  const embed = buildEmbed({
    title: t(locale, 'result.titleVideo', { model: modelName(task.request.model) }),
    color: COLOR_SUCCESS,
    url: mode === 'link' && isWebUrl(videoUrl) && videoUrl.length <= 2048 ? videoUrl : undefined,
    prompt: task.request.prompt,
    fields,
    // Not the result footer: a showcase post in the result's own channel must not pass for the result.
    footer: `Showcase · task ${task.id}`,
    timestamp: validIso(task.finishedAt),
  });
  const body: RESTPostAPIChannelMessageJSONBody = {
    content,
    embeds: [embed],
    // Credit without a ping: the member pressed Share (or already got the result's ping).
    allowed_mentions: { parse: [] },
    nonce: `${task.id.slice(0, NONCE_MAX - 2)}-s`,
    enforce_nonce: true,
  };
  if (mode === 'upload') body.attachments = [{ id: 0, filename: videoFileName(task) }];
  return body;
}

function linkFieldValue(videoUrl: string, linkInContent: boolean, reason: 'too_large' | 'download_failed' | undefined, task: Task): string {
  const locale = task.locale;
  const why =
    reason === 'too_large'
      ? t(locale, 'result.linkTooLarge', { limit: formatMiB(task.uploadLimitBytes) })
      : reason === 'download_failed'
        ? t(locale, 'result.linkDownloadFailed')
        : '';
  const note = t(locale, 'result.linkExpires');
  const fallback = linkInContent ? t(locale, 'result.linkInContent') : t(locale, 'result.linkFromTitle');
  const withLink = [why, `[${t(locale, 'result.openVideo')}](${videoUrl})`, note].filter(Boolean).join('\n');
  if (isWebUrl(videoUrl) && withLink.length <= EMBED_FIELD_VALUE_MAX) return withLink;
  return [why, fallback, note].filter(Boolean).join('\n');
}

/** "3 of 10 videos left today (UTC)." in `locale`. */
export function quotaLeftText(quota: QuotaLeft, locale: string | null | undefined): string {
  return t(locale, 'quota.left', { left: quota.left, quota: quota.quota });
}

/** The ephemeral progress reply for one progress view. */
export function renderProgress(
  view: ProgressView,
  task: Task,
  now: Date,
  extra: { quotaLeft?: QuotaLeft; notice?: string } = {},
): EphemeralMessageBody {
  // Ephemeral: in the member's language (older tasks only know the guild's).
  const locale = task.memberLocale ?? task.locale;
  let content: string;
  let color: number;
  switch (view.kind) {
    case 'queued': {
      const params = { position: view.position, elapsed: formatElapsed(elapsedMs(task.createdAt, now)) };
      content = t(locale, view.providerBusy ? 'progress.queuedBusy' : 'progress.queued', params);
      if (view.eta) content = `${content}\n${etaText(view.eta, now, locale)}`;
      color = COLOR_WAITING;
      break;
    }
    case 'generating':
      content = t(locale, 'progress.generating', { elapsed: formatElapsed(view.elapsedMs), channel: `<#${task.channelId}>` });
      // Past its expected time the estimate says nothing true: leave it out rather than show "ago".
      if (view.readyAtMs !== undefined && view.readyAtMs > now.getTime()) {
        content = `${content}\n${t(locale, 'progress.readyAt', { ready: relativeTimestamp(view.readyAtMs, now) })}`;
      }
      color = COLOR_WORKING;
      break;
    case 'account_problem':
      content = t(locale, 'progress.accountProblem');
      color = COLOR_WAITING;
      break;
    case 'failed':
      content = truncate(
        t(locale, 'progress.failed', { reason: safeText(reasonText(view.reason, locale)) || t(locale, 'result.noReason') }),
        CONTENT_MAX,
      );
      color = COLOR_FAILURE;
      break;
    case 'delivery_blocked':
      content = truncate(
        t(locale, BLOCKED_TEXT[view.reason], {
          id: task.id,
          channel: `<#${task.channelId}>`,
          permissions: (view.permissions ?? []).join(', ') || '?',
        }),
        CONTENT_MAX,
      );
      color = COLOR_NEUTRAL;
      break;
    case 'finished':
      ({ content, color } = finishedProgress(task, locale));
      break;
  }
  const embed = buildEmbed({
    color,
    prompt: task.request.prompt,
    promptMax: 300,
    fields: [],
    footer: `Task ${task.id}`,
  });
  // Only the command's own reply shows it: later edits come from the core, which does not re-read the quota.
  if (extra.quotaLeft) content = `${content}\n${quotaLeftText(extra.quotaLeft, locale)}`;
  if (extra.notice) content = truncate(`${content}\n${extra.notice}`, CONTENT_MAX);
  const components =
    view.kind === 'queued' || view.kind === 'generating' || view.kind === 'account_problem'
      ? [cancelButton(task, view.kind === 'generating', locale)]
      : [];
  return { content, embeds: [embed], allowed_mentions: { parse: [] }, components };
}

/** The start (and ready) estimate of a waiting task, as Discord relative timestamps. */
function etaText(eta: QueuedEta, now: Date, locale: string | null | undefined): string {
  const start = relativeTimestamp(eta.startAtMs, now);
  return eta.readyAtMs === undefined
    ? t(locale, 'progress.etaStart', { start })
    : t(locale, 'progress.etaStartReady', { start, ready: relativeTimestamp(eta.readyAtMs, now) });
}

/** `<t:unix:R>`: each member's client shows "in 3 minutes" in their language and counts down by itself. */
export function relativeTimestamp(atMs: number, now: Date): string {
  // Never in the past: a start overdue by a few seconds is "now", not "5 seconds ago".
  return `<t:${Math.ceil(Math.max(atMs, now.getTime()) / 1000)}:R>`;
}

/**
 * discord.js options for an ephemeral body (`reply`, `editReply`): discord.js reads `allowedMentions`
 * and silently drops the API's `allowed_mentions`, which would leave the reply's pings unrestricted.
 */
export function ephemeralReplyOptions(body: Pick<EphemeralMessageBody, 'content' | 'embeds' | 'components'>): {
  content: string;
  embeds: APIEmbed[];
  components?: APIActionRowComponent<APIButtonComponent>[];
  allowedMentions: { parse: [] };
} {
  const { content, embeds, components } = body;
  return { content, embeds, ...(components ? { components } : {}), allowedMentions: { parse: [] } };
}
const BLOCKED_TEXT: Record<DeliveryBlockedReason, MessageKey> = {
  guild_gone: 'deliveryBlocked.guildGone',
  channel_gone: 'deliveryBlocked.channelGone',
  missing_permissions: 'deliveryBlocked.missingPermissions',
};

const BLOCKED_REASON: Record<DeliveryBlockedReason, MessageKey> = {
  guild_gone: 'deliveryBlocked.reasonGuildGone',
  channel_gone: 'deliveryBlocked.reasonChannelGone',
  missing_permissions: 'deliveryBlocked.reasonMissingPermissions',
};

const STATE_WORDS: Record<TaskState, MessageKey> = {
  queued: 'status.queued',
  submitting: 'status.submitting',
  submitted: 'status.submitted',
  succeeded: 'status.succeeded',
  failed: 'status.failed',
  timed_out: 'status.timed_out',
  interrupted: 'status.interrupted',
  posting: 'status.posting',
  delivered: 'status.delivered',
  undeliverable: 'status.undeliverable',
  expired: 'status.expired',
  cancelled: 'status.cancelled',
};

/** The core reports `finished` once any public message is posted; its wording follows the outcome. */
function finishedProgress(task: Task, locale: string | undefined): { content: string; color: number } {
  if (task.state === 'cancelled') return { content: cancelledText(task, locale), color: COLOR_NEUTRAL };
  const channel = `<#${task.channelId}>`;
  const jump = task.resultMessageId ? ` ${messageLink(task, task.resultMessageId)}` : '';
  switch (task.outcome?.kind) {
    case 'timed_out':
      return { content: t(locale, 'progress.timedOut', { channel }), color: COLOR_WAITING };
    case 'failed':
      return {
        content: truncate(
          t(locale, 'progress.failedFinal', { reason: safeText(failureReason(task.outcome, task, locale)), channel, jump }),
          CONTENT_MAX,
        ),
        color: COLOR_FAILURE,
      };
    case 'interrupted':
      return { content: t(locale, 'progress.interrupted', { channel, jump }), color: COLOR_NEUTRAL };
    case 'succeeded':
    case undefined:
      return { content: t(locale, 'progress.done', { channel, jump }), color: COLOR_SUCCESS };
  }
}

/** What the member is told about a cancelled task: a submitted one was still made (and billed). */
export function cancelledText(task: Pick<Task, 'id' | 'providerTaskId'>, locale?: string | null): string {
  return t(locale, task.providerTaskId ? 'cancel.stopped' : 'cancel.cancelled', { id: task.id });
}

/** The ephemeral `/sora status` answer for one task; `queuePosition` is 1-based, when queued. */
export function renderStatus(task: Task, now: Date, queuePosition?: number, locale?: string | null): EphemeralMessageBody {
  const finished = !['queued', 'submitting', 'submitted', 'timed_out'].includes(task.state);
  const state =
    task.state === 'queued' && queuePosition !== undefined
      ? t(locale, 'status.queuedAt', { position: queuePosition })
      : t(locale, STATE_WORDS[task.state]);
  const fields: APIEmbedField[] = [{ name: t(locale, 'status.fieldState'), value: state }];

  const endIso = task.finishedAt ?? (finished ? task.updatedAt : undefined);
  const total = elapsedMs(task.createdAt, endIso ? new Date(endIso) : now);
  fields.push({ name: t(locale, finished ? 'status.fieldTook' : 'status.fieldElapsed'), value: formatElapsed(total), inline: true });
  if (task.submittedAt && (task.state === 'submitted' || task.state === 'timed_out')) {
    fields.push({ name: t(locale, 'status.fieldGeneratingFor'), value: formatElapsed(elapsedMs(task.submittedAt, now)), inline: true });
  }
  if (task.providerTaskId)
    fields.push({ name: t(locale, 'status.fieldProviderTask'), value: truncate(task.providerTaskId, 100), inline: true });

  const outcome = task.outcome;
  if (outcome?.kind === 'failed') {
    fields.push({
      name: t(locale, 'result.fieldReason'),
      value: truncate(safeText(failureReason(outcome, task, locale)), EMBED_FIELD_VALUE_MAX),
    });
  }
  if (outcome?.kind === 'succeeded' && isWebUrl(outcome.videoUrl) && outcome.videoUrl.length <= 1000) {
    fields.push({ name: t(locale, 'result.fieldVideo'), value: t(locale, 'status.videoLink', { url: outcome.videoUrl }) });
  }
  if (task.resultMessageId) {
    fields.push({ name: t(locale, 'status.fieldResult'), value: messageLink(task, task.resultMessageId) });
  }
  if (task.state === 'undeliverable' && task.undeliverableReason) {
    fields.push({
      name: t(locale, 'status.fieldWhyNotPosted'),
      value: truncate(safeText(task.undeliverableReason), EMBED_FIELD_VALUE_MAX),
    });
  }
  fields.push({ name: t(locale, 'status.fieldOptions'), value: optionSummary(task) });

  const embed = buildEmbed({
    title: `Task ${task.id}`,
    color: statusColor(task.state),
    prompt: task.request.prompt,
    promptMax: 1000,
    fields,
    footer: `Task ${task.id}`,
  });
  return { content: truncate(`**${task.id}**: ${state}`, CONTENT_MAX), embeds: [embed], allowed_mentions: { parse: [] } };
}

function statusColor(state: TaskState): number {
  switch (state) {
    case 'delivered':
    case 'succeeded':
      return COLOR_SUCCESS;
    case 'failed':
    case 'undeliverable':
      return COLOR_FAILURE;
    case 'timed_out':
    case 'queued':
      return COLOR_WAITING;
    case 'interrupted':
    case 'expired':
    case 'cancelled':
      return COLOR_NEUTRAL;
    case 'submitting':
    case 'submitted':
    case 'posting':
      return COLOR_WORKING;
  }
}

/** A jump link to a message in the task's channel. */
export function messageLink(task: Pick<Task, 'guildId' | 'channelId'>, messageId: string): string {
  return `https://discord.com/channels/${task.guildId}/${task.channelId}/${messageId}`;
}

/** `m:ss` (or `h:mm:ss` from one hour). */
export function formatElapsed(ms: number): string {
  const totalSeconds = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = String(totalSeconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/**
 * Makes member or API text inert: markdown is escaped and every `@` gets a zero-width space, so
 * `@everyone`, `<@id>` and `<@&role>` show as text even where allowed_mentions would not apply.
 */
export function safeText(text: string): string {
  // Hand-written: discord.js escapeMarkdown's italic rule is quadratic (~0.5 s on a 4000-char prompt).
  return text
    .replace(/[\\*_~`|[\]]/g, '\\$&')
    .replace(/^(\s*)([>#+-])/gm, '$1\\$2')
    .replace(/^(\s*\d+)\./gm, '$1\\.')
    .replaceAll('@', '@\u200b');
}

/** Cuts `text` to `max` characters with an ellipsis, never inside a character or an emoji sequence. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${cutAt(text, max - 1)}…`;
}

/**
 * The longest start of `text` within `max` characters (UTF-16 units, as Discord's limits are checked
 * strictest), ending between two graphemes; no ellipsis (a prefilled modal value, say).
 */
export function cutToFit(text: string, max: number): string {
  return cutAt(text, max);
}

/** The escaped prompt within `max` characters (escaping grows the text, so the raw prompt is cut first). */
function fitPrompt(prompt: string, max: number): string {
  const raw = prompt.trim();
  const full = safeText(raw);
  if (full.length <= max) return full;
  const shownAt = (length: number): string => `${safeText(cutAt(raw, length))}…`;
  // Binary search for the longest raw prefix whose escaped form still fits.
  let low = 0;
  let high = Math.min(raw.length, max - 1);
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (shownAt(mid).length <= max) low = mid;
    else high = mid - 1;
  }
  return shownAt(low);
}

// Built into Node (full ICU): a cut lands between graphemes, so a ZWJ family, a flag or a letter
// with its accents is kept or dropped whole, never shown broken.
const GRAPHEMES = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** At most the first `length` UTF-16 units of `text`, ending on a grapheme boundary. */
function cutAt(text: string, length: number): string {
  if (length <= 0) return '';
  if (length >= text.length) return text;
  const straddling = GRAPHEMES.segment(text).containing(length);
  if (straddling && straddling.index > 0) return text.slice(0, straddling.index);
  // One grapheme longer than the room (a pile of combining marks): cut it, but not inside a surrogate pair.
  const last = text.charCodeAt(length - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? length - 1 : length);
}

/** A field value built around member/API text that is escaped and cut to fit 1024. */
function fitField(build: (text: string) => string, text: string): string {
  const room = EMBED_FIELD_VALUE_MAX - build('').length;
  return build(truncate(safeText(text), Math.max(1, room)));
}

interface EmbedParts {
  title?: string;
  color: number;
  url?: string;
  prompt: string;
  promptMax?: number;
  fields: APIEmbedField[];
  footer: string;
  timestamp?: string;
}

function buildEmbed(parts: EmbedParts): APIEmbed {
  const title = parts.title === undefined ? undefined : truncate(parts.title, EMBED_TITLE_MAX);
  const fields = parts.fields.slice(0, 25).map((field) => ({
    ...field,
    name: truncate(field.name, EMBED_FIELD_NAME_MAX),
    value: truncate(field.value, EMBED_FIELD_VALUE_MAX),
  }));
  const footer = truncate(parts.footer, EMBED_FOOTER_MAX);
  const used = (title?.length ?? 0) + footer.length + fields.reduce((sum, field) => sum + field.name.length + field.value.length, 0);
  // The description takes what the 6000-character embed total leaves.
  const room = Math.min(parts.promptMax ?? EMBED_DESCRIPTION_MAX, EMBED_DESCRIPTION_MAX, EMBED_TOTAL_MAX - used);
  const embed: APIEmbed = { color: parts.color, fields, footer: { text: footer } };
  const description = fitPrompt(parts.prompt, Math.max(1, room));
  // Discord rejects an empty description.
  if (description.length > 0) embed.description = description;
  if (title !== undefined) embed.title = title;
  if (parts.url !== undefined) embed.url = parts.url;
  if (parts.timestamp !== undefined) embed.timestamp = parts.timestamp;
  return embed;
}

/** Whether a failure is "this model is not served" (it gets the switch-model button). */
export function isModelUnavailable(outcome: TaskOutcome | undefined): boolean {
  return outcome?.kind === 'failed' && outcome.code === MODEL_UNAVAILABLE_CODE;
}

// The bot's own reasons are codes, worded in the reader's language; other reasons are the provider's
// words. A record written before the codes carries the bot's English in `message`: shown as it is.
function failureReason(outcome: Extract<TaskOutcome, { kind: 'failed' }>, task: Task, locale: string | null | undefined): string {
  if (isModelUnavailable(outcome)) return t(locale, 'result.modelUnavailable', { model: modelName(task.request.model) });
  if (outcome.code === DELIVERY_BLOCKED_CODE) {
    const key = BLOCKED_REASON[task.undeliverableReason as DeliveryBlockedReason] as MessageKey | undefined;
    if (key) return t(locale, key);
  }
  if (outcome.reason) return reasonText(outcome.reason, locale);
  return outcome.message.trim() || outcome.code || t(locale, 'result.noReason');
}

const REASON_KEYS: Record<FailureReasonCode, MessageKey> = {
  submit_unconfirmed: 'reason.submitUnconfirmed',
  not_posted: 'reason.notPosted',
};

/** A failure reason the core gave as a code, in the reader's language. */
export function reasonText(reason: FailureReason, locale: string | null | undefined): string {
  const { channelId, ...params } = reason.params;
  return t(locale, REASON_KEYS[reason.code], channelId === undefined ? params : { ...params, channel: `<#${channelId}>` });
}

/** The model's name for people: its catalogue display name, or the stored id of a model since dropped. */
export function modelName(modelId: string): string {
  return findModel(modelId)?.displayName ?? modelId;
}

// Only the options the request carries: a model without a duration shows none.
function optionFields(task: Task, locale: string | undefined): APIEmbedField[] {
  const { model, duration, orientation, size } = task.request;
  const images = imageCount(task);
  const fields: APIEmbedField[] = [{ name: t(locale, 'field.model'), value: model, inline: true }];
  if (duration !== undefined) fields.push({ name: t(locale, 'field.duration'), value: `${duration} s`, inline: true });
  if (orientation !== undefined) fields.push({ name: t(locale, 'field.orientation'), value: orientation, inline: true });
  if (size !== undefined) fields.push({ name: t(locale, 'field.size'), value: size, inline: true });
  const imageValue = images > 1 ? String(images) : t(locale, images === 1 ? 'common.yes' : 'common.no');
  fields.push({ name: t(locale, 'field.image'), value: imageValue, inline: true });
  return fields;
}

function optionSummary(task: Task): string {
  const { model, duration, orientation, size } = task.request;
  const parts = [model, duration !== undefined ? `${duration} s` : undefined, orientation, size];
  const images = imageCount(task);
  parts.push(`image: ${images > 1 ? images : images === 1 ? 'yes' : 'no'}`);
  return parts.filter((part) => part !== undefined).join(' · ');
}

function imageCount(task: Task): number {
  const { imageUrl, extraImageUrls, endImageUrl } = task.request;
  return (imageUrl ? 1 : 0) + (extraImageUrls?.length ?? 0) + (endImageUrl ? 1 : 0);
}

/** How long the provider had been working on it when the outcome was recorded. */
function generationTimeMs(task: Task): number {
  const end = task.finishedAt ?? task.postingStartedAt ?? task.updatedAt;
  return elapsedMs(task.submittedAt ?? task.createdAt, new Date(end));
}

function elapsedMs(fromIso: string, to: Date): number {
  const from = Date.parse(fromIso);
  return Number.isNaN(from) ? 0 : Math.max(0, to.getTime() - from);
}

function validIso(iso: string | undefined): string | undefined {
  return iso !== undefined && !Number.isNaN(Date.parse(iso)) ? new Date(iso).toISOString() : undefined;
}

function isWebUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'https:' || protocol === 'http:';
}

function formatMiB(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`;
}
