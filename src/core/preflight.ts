import {
  DURATIONS,
  MODELS,
  ORIENTATIONS,
  SIZES,
  type Duration,
  type GenerationRequest,
  type Model,
  type Orientation,
  type Size,
} from './task.js';
import { UserFacingError } from './user-facing-error.js';

/** Channel permissions the bot needs to deliver a result (Discord's flag names). */
export type BotPermission =
  | 'ViewChannel'
  | 'SendMessages'
  | 'SendMessagesInThreads'
  | 'EmbedLinks'
  | 'AttachFiles'
  | 'ReadMessageHistory';

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
  attachment?: { name: string; contentType: string | null; size: number; url: string } | null;
}

/** The rules preflight applies: the config's, with the guild's settings on top. */
export interface PreflightRules {
  allowedGuildIds: ReadonlySet<string> | undefined;
  promptMaxChars: number;
  imageMaxBytes: number;
  defaults: { model: Model; duration: Duration; orientation: Orientation; size: Size };
  /** Channels (and their threads) where videos may be made; undefined or empty: everywhere. */
  allowedChannelIds?: ReadonlySet<string>;
  /** Refused substrings of a prompt (compared after `normalizeForMatch`). */
  blockedWords?: readonly string[];
  /** Roles whose members may use sora-2-pro; undefined or empty: everyone. */
  proRoleIds?: ReadonlySet<string>;
}

/** Preflight's answer: a request safe to spend credits on, or the reason it is not. */
export type PreflightResult =
  | { ok: true; request: GenerationRequest }
  | { ok: false; error: UserFacingError };

const IMAGE_TYPES = new Map([
  ['image/png', 'png'],
  ['image/jpeg', 'jpeg'],
  ['image/webp', 'webp'],
  ['image/gif', 'gif'],
]);
const IMAGE_EXTENSIONS = /\.(png|jpe?g|webp|gif)$/i;
// A refusal names a few allowed channels; a message holds 2000 characters.
const MAX_CHANNELS_LISTED = 10;

/** The permissions a result needs in a channel (threads take SendMessagesInThreads). */
export function requiredPermissions(channelIsThread: boolean): BotPermission[] {
  return [
    'ViewChannel',
    channelIsThread ? 'SendMessagesInThreads' : 'SendMessages',
    'EmbedLinks',
    'AttachFiles',
    // Needed to find our own result after a crash (design.md §2a).
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
      const listed = [...allowedChannels].slice(0, MAX_CHANNELS_LISTED).map((id) => `<#${id}>`).join(', ');
      const more = allowedChannels.size > MAX_CHANNELS_LISTED ? ' …' : '';
      return fail(
        new UserFacingError('CHANNEL_NOT_ALLOWED', 'error.channelNotAllowed', { channels: `${listed}${more}` }),
      );
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

  const prompt = input.prompt.trim();
  if (prompt.length === 0) {
    return fail(new UserFacingError('PROMPT_EMPTY', 'error.promptEmpty'));
  }
  const promptChars = [...prompt].length;
  if (promptChars > rules.promptMaxChars) {
    return fail(
      new UserFacingError(
        'PROMPT_TOO_LONG',
        'error.promptTooLong',
        { length: promptChars, max: rules.promptMaxChars },
      ),
    );
  }
  // The refusal never names the word: the list is the admins' and would teach how to get around it.
  if (rules.blockedWords && containsBlockedWord(prompt, rules.blockedWords)) {
    return fail(
      new UserFacingError('PROMPT_BLOCKED', 'error.promptBlocked'),
    );
  }

  const model = pick(MODELS, input.model, rules.defaults.model);
  const duration = pick(DURATIONS, input.duration, rules.defaults.duration);
  const orientation = pick(ORIENTATIONS, input.orientation, rules.defaults.orientation);
  const size = pick(SIZES, input.size, rules.defaults.size);
  if (model === undefined || duration === undefined || orientation === undefined || size === undefined) {
    return fail(new UserFacingError('OPTION_INVALID', 'error.optionUnknown'));
  }
  // The provider only renders 25 s with sora-2-pro; refusing here saves a failed round trip.
  if (duration === 25 && model !== 'sora-2-pro') {
    return fail(
      new UserFacingError('OPTION_INVALID', 'error.durationNeedsPro'),
    );
  }
  const proRoles = rules.proRoleIds;
  if (model === 'sora-2-pro' && proRoles && proRoles.size > 0 && !(input.memberRoleIds ?? []).some((id) => proRoles.has(id))) {
    return fail(
      new UserFacingError('MODEL_NOT_ALLOWED', duration === 25 ? 'error.modelNotAllowed25' : 'error.modelNotAllowed'),
    );
  }

  const request: GenerationRequest = { prompt, model, duration, orientation, size };
  if (input.attachment) {
    const { name, contentType, size: bytes, url } = input.attachment;
    const mime = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
    const isImage = mime ? IMAGE_TYPES.has(mime) : IMAGE_EXTENSIONS.test(name);
    if (!isImage) {
      return fail(
        new UserFacingError('ATTACHMENT_NOT_IMAGE', 'error.attachmentNotImage', { name }),
      );
    }
    if (bytes > rules.imageMaxBytes) {
      return fail(
        new UserFacingError(
          'ATTACHMENT_TOO_LARGE',
          'error.attachmentTooLarge',
          { name, size: formatMegabytes(bytes), max: formatMegabytes(rules.imageMaxBytes) },
        ),
      );
    }
    request.imageUrl = url;
  }
  return { ok: true, request };
}

function pick<T extends string | number>(
  allowed: readonly T[],
  value: string | number | null | undefined,
  fallback: T,
): T | undefined {
  if (value === null || value === undefined) return fallback;
  return allowed.find((candidate) => candidate === value);
}

function formatMegabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
