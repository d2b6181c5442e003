import { findModel, type ModelSpec } from './models/catalogue.js';
import { chooseModelOptions } from './models/model-options.js';
import type { GenerationRequest } from './task.js';
import { UserFacingError } from './user-facing-error.js';

/** Channel permissions the bot needs to deliver a result (Discord's flag names). */
export type BotPermission = 'ViewChannel' | 'SendMessages' | 'SendMessagesInThreads' | 'EmbedLinks' | 'AttachFiles' | 'ReadMessageHistory';

/** What the member typed, plus the facts about the channel the command came from. */
export interface GenerateCommandInput {
  guildId: string | null;
  /** The channel the command came from; a thread also names its parent (allowed channels match either). */
  channelId?: string;
  parentChannelId?: string | null;
  /** The member's role ids, for the roles allowed to use sora-2-pro. */
  memberRoleIds?: readonly string[];
  channelIsThread: boolean;
  botPermissions: ReadonlySet<BotPermission>;
  prompt: string;
  model?: string | null;
  duration?: number | null;
  orientation?: string | null;
  size?: string | null;
  /** The first reference image (or first frame). */
  attachment?: AttachmentInput | null;
  /** Further reference images (`image2`, `image3`), for models that take several. */
  extraAttachments?: readonly AttachmentInput[];
  /** The last frame, for models that take one. */
  endAttachment?: AttachmentInput | null;
  /** Sora's character clip (a video) and where in it the character appears. */
  characterVideo?: AttachmentInput | null;
  characterStart?: number | null;
  characterEnd?: number | null;
  negativePrompt?: string | null;
}

/** An attachment as Discord describes it. */
export interface AttachmentInput {
  name: string;
  contentType: string | null;
  size: number;
  url: string;
}

/** The rules preflight applies: the config's, with the guild's settings on top. */
export interface PreflightRules {
  allowedGuildIds: ReadonlySet<string> | undefined;
  promptMaxChars: number;
  imageMaxBytes: number;
  /** The server's (else the operator's) defaults; duration, orientation and size apply where the model takes them. */
  defaults: { model: string; duration?: number; orientation?: string; size?: string };
  /** Models members may pick here (VIDEO_MODELS narrowed by the server's list), catalogue ids. */
  offeredModelIds: readonly string[];
  /** Models Ace Data Cloud said it does not serve, within their cool-down. */
  unavailableModelIds?: ReadonlySet<string>;
  /** Channels (and their threads) where videos may be made; undefined or empty: everywhere. */
  allowedChannelIds?: ReadonlySet<string>;
  /** Refused substrings of a prompt (compared after `normalizeForMatch`). */
  blockedWords?: readonly string[];
  /** Roles whose members may use the premium models; undefined or empty: everyone. */
  proRoleIds?: ReadonlySet<string>;
}

/** Preflight's answer: a request safe to spend credits on, or the reason it is not. */
export type PreflightResult = { ok: true; request: GenerationRequest } | { ok: false; error: UserFacingError };

const IMAGE_TYPES = new Map([
  ['image/png', 'png'],
  ['image/jpeg', 'jpeg'],
  ['image/webp', 'webp'],
  ['image/gif', 'gif'],
]);
const IMAGE_EXTENSIONS = /\.(png|jpe?g|webp|gif)$/i;
const VIDEO_TYPES = new Set(['video/mp4', 'video/quicktime', 'video/webm']);
const VIDEO_EXTENSIONS = /\.(mp4|mov|webm)$/i;
// Sora's documented limit for a hosted reference video (docs/acedata-contract.md §2.3).
const CHARACTER_VIDEO_MAX_BYTES = 200 * 1024 * 1024;
// A refusal lists some of the models on offer; a message holds 2000 characters.
const MAX_MODELS_LISTED = 25;
// A refusal names a few allowed channels; a message holds 2000 characters.
const MAX_CHANNELS_LISTED = 10;

/** The permissions a result needs in a channel (threads take SendMessagesInThreads). */
export function requiredPermissions(channelIsThread: boolean): BotPermission[] {
  return [
    'ViewChannel',
    channelIsThread ? 'SendMessagesInThreads' : 'SendMessages',
    'EmbedLinks',
    'AttachFiles',
    // Needed to find our own result after a crash (docs/crash-outcomes.md).
    'ReadMessageHistory',
  ];
}

/**
 * The form blocked words and prompts are compared in: NFKC folds full-width and compatibility
 * characters (ＡＢＣ → abc), then lower case. Plain substrings, no word boundaries, so CJK works.
 */
export function normalizeForMatch(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** Whether the prompt contains any blocked word (case-insensitive substring). */
export function containsBlockedWord(prompt: string, blockedWords: readonly string[]): boolean {
  const haystack = normalizeForMatch(prompt);
  return blockedWords.some((word) => {
    const needle = normalizeForMatch(word).trim();
    return needle !== '' && haystack.includes(needle);
  });
}

// One character that shows nothing on its own: `\s` (spaces, tabs, line breaks, NBSP, U+2000–U+200A,
// U+202F, U+205F, the ideographic space, U+FEFF), zero-width spaces, joiners and bidi marks
// (U+200B–U+200F), the word joiner and invisible operators (U+2060–U+2064), soft hyphen, Mongolian
// vowel separator, Arabic letter mark, bidi embeddings and isolates, Hangul fillers, braille blank
// and the combining grapheme joiner. Cut from the prompt's ends only: inside, a ZWJ emoji sequence
// or a ZWNJ in Persian must stay as typed.
// eslint-disable-next-line no-misleading-character-class -- U+034F is listed as itself, tested one code point at a time
const EDGE_BLANK = /^[\s\u200B-\u200F\u2060-\u2064\u00AD\u180E\u061C\u202A-\u202E\u2066-\u2069\u3164\uFFA0\u115F\u1160\u2800\u034F]$/u;
// What a prompt may not consist of alone: the above, any other format or control character (e.g.
// Unicode tags), and combining marks or variation selectors, which have nothing to sit on.
const NOT_BLANK =
  // eslint-disable-next-line no-misleading-character-class -- a lone combining mark is exactly what this looks for
  /[^\s\u200B-\u200F\u2060-\u2064\u00AD\u180E\u061C\u202A-\u202E\u2066-\u2069\u3164\uFFA0\u115F\u1160\u2800\u034F\p{Cf}\p{Cc}\p{M}]/u;

/** The prompt without blank or invisible characters at either end (those inside are kept). */
export function trimPrompt(prompt: string): string {
  // By code point from each end (a regex `[…]+$` backtracks quadratically over a long blank run).
  const chars = [...prompt];
  let start = 0;
  let end = chars.length;
  while (start < end && EDGE_BLANK.test(chars[start]!)) start++;
  while (end > start && EDGE_BLANK.test(chars[end - 1]!)) end--;
  return start === 0 && end === chars.length ? prompt : chars.slice(start, end).join('');
}

/** Whether the prompt shows nothing: empty, or only blank, zero-width, format or combining characters. */
export function isBlankPrompt(prompt: string): boolean {
  return !NOT_BLANK.test(prompt);
}

/** Checks everything that can be checked before a credit is spent. Pure. */
export function preflightGenerate(input: GenerateCommandInput, rules: PreflightRules): PreflightResult {
  const fail = (error: UserFacingError): PreflightResult => ({ ok: false, error });

  if (input.guildId === null) {
    return fail(new UserFacingError('NOT_IN_GUILD', 'error.generateNotInGuild'));
  }
  if (rules.allowedGuildIds && !rules.allowedGuildIds.has(input.guildId)) {
    return fail(new UserFacingError('GUILD_NOT_ALLOWED', 'error.guildNotAllowed'));
  }
  const allowedChannels = rules.allowedChannelIds;
  if (allowedChannels && allowedChannels.size > 0) {
    const here = [input.channelId, input.parentChannelId].filter((id): id is string => typeof id === 'string');
    if (!here.some((id) => allowedChannels.has(id))) {
      const listed = [...allowedChannels]
        .slice(0, MAX_CHANNELS_LISTED)
        .map((id) => `<#${id}>`)
        .join(', ');
      const more = allowedChannels.size > MAX_CHANNELS_LISTED ? ' …' : '';
      return fail(new UserFacingError('CHANNEL_NOT_ALLOWED', 'error.channelNotAllowed', { channels: `${listed}${more}` }));
    }
  }

  const missing = requiredPermissions(input.channelIsThread).filter((p) => !input.botPermissions.has(p));
  if (missing.length > 0) {
    return fail(
      new UserFacingError(
        'MISSING_PERMISSIONS',
        'error.missingPermissions',
        {},
        { permissions: missing.map((permission) => `perm.${permission}` as const) },
      ),
    );
  }

  const prompt = trimPrompt(input.prompt);
  if (isBlankPrompt(prompt)) {
    return fail(new UserFacingError('PROMPT_EMPTY', 'error.promptEmpty'));
  }
  const promptChars = [...prompt].length;
  if (promptChars > rules.promptMaxChars) {
    return fail(new UserFacingError('PROMPT_TOO_LONG', 'error.promptTooLong', { length: promptChars, max: rules.promptMaxChars }));
  }
  // The refusal never names the word: the list is the admins' and would teach how to get around it.
  if (rules.blockedWords && containsBlockedWord(prompt, rules.blockedWords)) {
    return fail(new UserFacingError('PROMPT_BLOCKED', 'error.promptBlocked'));
  }

  const chosen = chooseModel(input.model, rules);
  if ('error' in chosen) return fail(chosen.error);
  const spec = chosen.spec;
  const proRoles = rules.proRoleIds;
  if (spec.premium && proRoles && proRoles.size > 0 && !(input.memberRoleIds ?? []).some((id) => proRoles.has(id))) {
    return fail(
      new UserFacingError('MODEL_NOT_ALLOWED', 'error.premiumModelNotAllowed', {
        model: spec.id,
        models: listModels(rules.offeredModelIds.filter((id) => !findModel(id)?.premium)),
      }),
    );
  }

  const images = [input.attachment, ...(input.extraAttachments ?? [])].filter((a): a is AttachmentInput => !!a);
  const negativePrompt = input.negativePrompt?.trim() || undefined;
  const options = chooseModelOptions(
    spec,
    {
      duration: input.duration,
      orientation: input.orientation,
      size: input.size,
      imageCount: images.length,
      hasEndImage: !!input.endAttachment,
      hasCharacter: !!input.characterVideo,
      character: { startSeconds: input.characterStart, endSeconds: input.characterEnd },
      negativePrompt,
    },
    rules.defaults,
  );
  if (!options.ok) return fail(options.error);

  for (const attachment of [...images, ...(input.endAttachment ? [input.endAttachment] : [])]) {
    const problem = imageProblem(attachment, rules.imageMaxBytes);
    if (problem) return fail(problem);
  }
  const { characterSpan, ...chosenOptions } = options.options;
  const request: GenerationRequest = { prompt, model: spec.id, ...chosenOptions };
  if (images[0]) request.imageUrl = images[0].url;
  if (images.length > 1) request.extraImageUrls = images.slice(1).map((a) => a.url);
  if (input.endAttachment) request.endImageUrl = input.endAttachment.url;
  if (negativePrompt) request.negativePrompt = negativePrompt;
  if (input.characterVideo && characterSpan) {
    const video = input.characterVideo;
    const mime = video.contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
    const isVideo = mime ? VIDEO_TYPES.has(mime) : VIDEO_EXTENSIONS.test(video.name);
    if (!isVideo) return fail(new UserFacingError('ATTACHMENT_NOT_IMAGE', 'error.attachmentNotVideo', { name: video.name }));
    if (video.size > CHARACTER_VIDEO_MAX_BYTES) {
      return fail(
        new UserFacingError('ATTACHMENT_TOO_LARGE', 'error.attachmentTooLarge', {
          name: video.name,
          size: formatMegabytes(video.size),
          max: formatMegabytes(CHARACTER_VIDEO_MAX_BYTES),
        }),
      );
    }
    request.character = { videoUrl: video.url, ...characterSpan };
  }
  return { ok: true, request };
}

/** The model a command runs on: the one asked for when it is offered here, else the server's default. */
/** The model a command would run on (`asked`, else the guild's default), or undefined when it would be refused. */
export function modelFor(asked: string | null | undefined, rules: PreflightRules): ModelSpec | undefined {
  const chosen = chooseModel(asked, rules);
  return 'spec' in chosen ? chosen.spec : undefined;
}

function chooseModel(asked: string | null | undefined, rules: PreflightRules): { spec: ModelSpec } | { error: UserFacingError } {
  const offered = rules.offeredModelIds;
  const models = listModels(offered);
  if (asked !== null && asked !== undefined && asked.trim() !== '') {
    const id = asked.trim();
    // Autocomplete shows display names, but a member may type either; ids are matched without case.
    const spec = findModel(id) ?? findModel(offered.find((candidate) => candidate.toLowerCase() === id.toLowerCase()));
    if (!spec) return { error: new UserFacingError('OPTION_INVALID', 'error.modelUnknown', { model: id.slice(0, 60), models }) };
    if (!offered.includes(spec.id)) {
      return { error: new UserFacingError('MODEL_NOT_ALLOWED', 'error.modelNotOffered', { model: spec.id, models }) };
    }
    if (rules.unavailableModelIds?.has(spec.id)) {
      return {
        error: new UserFacingError('NOT_AVAILABLE', 'error.modelUnavailableNow', {
          model: spec.id,
          models: listModels(offered.filter((m) => !rules.unavailableModelIds?.has(m))),
        }),
      };
    }
    return { spec };
  }
  const fallback = offered.includes(rules.defaults.model) ? rules.defaults.model : offered[0];
  const spec = findModel(fallback);
  if (!spec) return { error: new UserFacingError('NOT_AVAILABLE', 'error.noModelOffered') };
  if (rules.unavailableModelIds?.has(spec.id)) {
    return {
      error: new UserFacingError('NOT_AVAILABLE', 'error.modelUnavailableNow', {
        model: spec.id,
        models: listModels(offered.filter((m) => !rules.unavailableModelIds?.has(m))),
      }),
    };
  }
  return { spec };
}

function listModels(ids: readonly string[]): string {
  if (ids.length === 0) return '—';
  const listed = ids
    .slice(0, MAX_MODELS_LISTED)
    .map((id) => `\`${id}\``)
    .join(', ');
  return ids.length > MAX_MODELS_LISTED ? `${listed} …` : listed;
}

function imageProblem(attachment: AttachmentInput, maxBytes: number): UserFacingError | undefined {
  const { name, contentType, size: bytes } = attachment;
  const mime = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  const isImage = mime ? IMAGE_TYPES.has(mime) : IMAGE_EXTENSIONS.test(name);
  if (!isImage) return new UserFacingError('ATTACHMENT_NOT_IMAGE', 'error.attachmentNotImage', { name });
  if (bytes > maxBytes) {
    return new UserFacingError('ATTACHMENT_TOO_LARGE', 'error.attachmentTooLarge', {
      name,
      size: formatMegabytes(bytes),
      max: formatMegabytes(maxBytes),
    });
  }
  return undefined;
}

function formatMegabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
