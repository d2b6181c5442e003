import { z } from 'zod';
import type { GuildStartLimits } from '../core/generation-service.js';
import { normalizeForMatch, type PreflightRules } from '../core/preflight.js';
import { findModel } from '../core/models/catalogue.js';
import { chooseModelOptions } from '../core/models/model-options.js';
import { ORIENTATIONS, type Orientation } from '../core/task.js';
import type { MessageKey, MessageParams } from '../i18n/index.js';

/** Option defaults a guild chose; an absent field keeps the bot's default. */
export interface GenerationDefaults {
  /** A catalogue id; it must also be one of the models this server offers. */
  model?: string;
  /** Applied only with a model that takes it (each model's own default otherwise). */
  duration?: number;
  orientation?: Orientation;
  size?: string;
}

/** One guild's settings, edited with `/sora-admin`. */
export interface GuildSettings {
  showcaseChannelId: string | null;
  /** Share every delivered video to the showcase channel without waiting for the Share button. */
  autoShowcase: boolean;
  /** Channels (and their threads) where videos may be made; empty: everywhere. */
  allowedChannelIds: readonly string[];
  /** Generations per member per UTC day (0 = unlimited); null: `MEMBER_DAILY_QUOTA`. */
  memberDailyQuota: number | null;
  /** Generations running at once in this guild; null: `GUILD_MAX_ACTIVE_GENERATIONS`. */
  guildMaxActiveGenerations: number | null;
  /** Seconds a member waits between two starts (0 = none); null: `MEMBER_COOLDOWN_SECONDS`. */
  memberCooldownSeconds: number | null;
  /** Credits the guild may spend per UTC day (sora-2 for 10 s = 1); 0 = no budget. */
  dailyBudgetCredits: number;
  defaults: GenerationDefaults;
  /** Models members may pick here, a subset of the operator's VIDEO_MODELS; empty: all of those. */
  allowedModels: readonly string[];
  /** Roles whose members may use the premium models (sora-2-pro, veo31, …); empty: everyone. */
  proRoleIds: readonly string[];
  /** Refused prompt substrings, stored normalized (`normalizeBlockedWord`). */
  blockedWords: readonly string[];
  adminLogChannelId: string | null;
}

/** Bounds of what an admin may set (they keep replies within Discord's message limits). */
export const SETTINGS_LIMITS = Object.freeze({
  allowedChannels: 25,
  proRoles: 25,
  blockedWords: 200,
  blockedWordMaxChars: 100,
  allowedModels: 25,
  memberDailyQuotaMax: 10_000,
  guildMaxActiveGenerationsMax: 100,
  memberCooldownSecondsMax: 3600,
  dailyBudgetCreditsMax: 1_000_000,
});

/** The settings of a guild that never changed any. */
export const DEFAULT_GUILD_SETTINGS: GuildSettings = Object.freeze({
  showcaseChannelId: null,
  autoShowcase: false,
  allowedChannelIds: Object.freeze([]),
  memberDailyQuota: null,
  guildMaxActiveGenerations: null,
  memberCooldownSeconds: null,
  dailyBudgetCredits: 0,
  defaults: Object.freeze({}),
  allowedModels: Object.freeze([]),
  proRoleIds: Object.freeze([]),
  blockedWords: Object.freeze([]),
  adminLogChannelId: null,
});

const snowflake = z.string().regex(/^\d{17,20}$/);
const idList = (max: number) => z.array(snowflake).max(max).default([]);

/**
 * The stored form; every field has a default so records written by older versions still parse. Its
 * keys are the stored record's and never change (`maxActiveGenerations` is read as
 * `guildMaxActiveGenerations`, see {@link storedGuildSettings}).
 */
const guildSettingsSchema = z.object({
  showcaseChannelId: snowflake.nullable().default(null),
  autoShowcase: z.boolean().default(false),
  allowedChannelIds: idList(SETTINGS_LIMITS.allowedChannels),
  memberDailyQuota: z.number().int().min(0).max(SETTINGS_LIMITS.memberDailyQuotaMax).nullable().default(null),
  maxActiveGenerations: z.number().int().min(1).max(SETTINGS_LIMITS.guildMaxActiveGenerationsMax).nullable().default(null),
  memberCooldownSeconds: z.number().int().min(0).max(SETTINGS_LIMITS.memberCooldownSecondsMax).nullable().default(null),
  dailyBudgetCredits: z.number().int().min(0).max(SETTINGS_LIMITS.dailyBudgetCreditsMax).default(0),
  defaults: z
    .object({
      model: z.string().min(1).max(64).optional(),
      duration: z.number().int().optional(),
      orientation: z.enum(ORIENTATIONS).optional(),
      size: z.string().min(1).max(32).optional(),
    })
    .default({}),
  allowedModels: z.array(z.string().min(1).max(64)).max(SETTINGS_LIMITS.allowedModels).default([]),
  proRoleIds: idList(SETTINGS_LIMITS.proRoles),
  blockedWords: z.array(z.string().min(1).max(SETTINGS_LIMITS.blockedWordMaxChars)).max(SETTINGS_LIMITS.blockedWords).default([]),
  adminLogChannelId: snowflake.nullable().default(null),
});

/** A stored settings record that does not parse; never shown to members. */
export class InvalidGuildSettingsError extends Error {
  constructor(
    readonly guildId: string,
    detail: string,
  ) {
    super(`stored settings of guild ${guildId} are invalid: ${detail}`);
    this.name = 'InvalidGuildSettingsError';
  }
}

/** Parses a stored record (or anything else claiming to be settings); throws InvalidGuildSettingsError. */
export function parseGuildSettings(guildId: string, raw: unknown): GuildSettings {
  const result = guildSettingsSchema.safeParse(raw);
  if (!result.success) {
    throw new InvalidGuildSettingsError(guildId, result.error.issues.map((i) => i.path.join('.') || 'record').join(', '));
  }
  const { defaults, maxActiveGenerations, ...rest } = result.data;
  return { ...rest, guildMaxActiveGenerations: maxActiveGenerations, defaults: withoutUndefined(defaults) };
}

/** The record written to the store: the stored keys, which records of older versions share. */
export function storedGuildSettings(settings: GuildSettings): Record<string, unknown> {
  const { guildMaxActiveGenerations, ...rest } = settings;
  return { ...rest, maxActiveGenerations: guildMaxActiveGenerations };
}

/** The form blocked words are stored and compared in: NFKC, lower case, single spaces, trimmed. */
export function normalizeBlockedWord(word: string): string {
  return normalizeForMatch(word).replace(/\s+/g, ' ').trim();
}

/** Splits an admin's input into blocked words: commas (ASCII, full-width, ideographic) or new lines. */
export function splitBlockedWords(input: string): string[] {
  return [
    ...new Set(
      input
        .split(/[,，、\n]/)
        .map(normalizeBlockedWord)
        .filter((word) => word !== ''),
    ),
  ];
}

/** One change an admin asks for. */
export type SettingsEdit =
  | { kind: 'set_showcase'; channelId: string | null }
  | { kind: 'set_auto_showcase'; enabled: boolean }
  | { kind: 'set_log_channel'; channelId: string | null }
  | { kind: 'allow_channel'; channelId: string }
  | { kind: 'disallow_channel'; channelId: string }
  | { kind: 'clear_channels' }
  /** Undefined leaves a limit as it is; null returns it to the bot's default (budget: none). */
  | {
      kind: 'set_limits';
      memberDailyQuota?: number | null;
      guildMaxActiveGenerations?: number | null;
      dailyBudgetCredits?: number | null;
      memberCooldownSeconds?: number | null;
    }
  /** `reset` drops every default before the given ones apply. */
  | { kind: 'set_defaults'; defaults: GenerationDefaults; reset: boolean }
  /** The models members may pick here; empty: every model the operator enabled. */
  | { kind: 'set_allowed_models'; modelIds: readonly string[] }
  | { kind: 'add_pro_role'; roleId: string }
  | { kind: 'remove_pro_role'; roleId: string }
  | { kind: 'clear_pro_roles' }
  | { kind: 'add_blocked_words'; words: readonly string[] }
  | { kind: 'remove_blocked_words'; words: readonly string[] }
  | { kind: 'clear_blocked_words' };

/** Why an edit is refused: a catalogue message for the admin, in their language. */
export interface SettingsProblem {
  key: MessageKey;
  params: MessageParams;
}

/** The settings after an edit (`changed` false when it changed nothing), or why it is refused. */
export type SettingsEditResult = { ok: true; settings: GuildSettings; changed: boolean } | { ok: false; problem: SettingsProblem };

const problem = (key: MessageKey, params: MessageParams = {}): SettingsProblem => ({ key, params });

/** Applies an edit and checks the result against the bounds. Pure. */
export function applySettingsEdit(current: GuildSettings, edit: SettingsEdit): SettingsEditResult {
  const next = editedSettings(current, edit);
  if ('key' in next) return { ok: false, problem: next };
  const found = findProblem(next);
  if (found !== undefined) return { ok: false, problem: found };
  return { ok: true, settings: next, changed: JSON.stringify(next) !== JSON.stringify(current) };
}

function editedSettings(s: GuildSettings, edit: SettingsEdit): GuildSettings | SettingsProblem {
  switch (edit.kind) {
    case 'set_showcase':
      return { ...s, showcaseChannelId: edit.channelId };
    case 'set_auto_showcase':
      return { ...s, autoShowcase: edit.enabled };
    case 'set_log_channel':
      return { ...s, adminLogChannelId: edit.channelId };
    case 'allow_channel':
      return { ...s, allowedChannelIds: withItem(s.allowedChannelIds, edit.channelId) };
    case 'disallow_channel':
      return { ...s, allowedChannelIds: s.allowedChannelIds.filter((id) => id !== edit.channelId) };
    case 'clear_channels':
      return { ...s, allowedChannelIds: [] };
    case 'set_limits': {
      const next = { ...s };
      if (edit.memberDailyQuota !== undefined) next.memberDailyQuota = edit.memberDailyQuota;
      if (edit.guildMaxActiveGenerations !== undefined) next.guildMaxActiveGenerations = edit.guildMaxActiveGenerations;
      if (edit.dailyBudgetCredits !== undefined) next.dailyBudgetCredits = edit.dailyBudgetCredits ?? 0;
      if (edit.memberCooldownSeconds !== undefined) next.memberCooldownSeconds = edit.memberCooldownSeconds;
      return next;
    }
    case 'set_defaults':
      return { ...s, defaults: withoutUndefined({ ...(edit.reset ? {} : s.defaults), ...withoutUndefined(edit.defaults) }) };
    case 'set_allowed_models': {
      const unknown = edit.modelIds.find((id) => !findModel(id));
      if (unknown !== undefined) return problem('error.settingModelUnknown', { model: unknown });
      return { ...s, allowedModels: [...new Set(edit.modelIds)] };
    }
    case 'add_pro_role':
      return { ...s, proRoleIds: withItem(s.proRoleIds, edit.roleId) };
    case 'remove_pro_role':
      return { ...s, proRoleIds: s.proRoleIds.filter((id) => id !== edit.roleId) };
    case 'clear_pro_roles':
      return { ...s, proRoleIds: [] };
    case 'add_blocked_words': {
      const words = edit.words.map(normalizeBlockedWord).filter((w) => w !== '');
      if (words.length === 0) return problem('error.settingNoWords');
      let blockedWords = s.blockedWords;
      for (const word of words) blockedWords = withItem(blockedWords, word);
      return { ...s, blockedWords };
    }
    case 'remove_blocked_words': {
      const words = new Set(edit.words.map(normalizeBlockedWord));
      return { ...s, blockedWords: s.blockedWords.filter((w) => !words.has(w)) };
    }
    case 'clear_blocked_words':
      return { ...s, blockedWords: [] };
  }
}

function findProblem(s: GuildSettings): SettingsProblem | undefined {
  const L = SETTINGS_LIMITS;
  if (s.allowedChannelIds.length > L.allowedChannels) return problem('error.settingTooManyChannels', { max: L.allowedChannels });
  if (s.proRoleIds.length > L.proRoles) return problem('error.settingTooManyProRoles', { max: L.proRoles });
  if (s.blockedWords.length > L.blockedWords) return problem('error.settingTooManyBlockedWords', { max: L.blockedWords });
  if (s.blockedWords.some((w) => [...w].length > L.blockedWordMaxChars)) {
    return problem('error.settingBlockedWordTooLong', { max: L.blockedWordMaxChars });
  }
  if (s.memberDailyQuota !== null && !isIntegerIn(s.memberDailyQuota, 0, L.memberDailyQuotaMax)) {
    return problem('error.settingMemberDaily', { max: L.memberDailyQuotaMax });
  }
  if (s.guildMaxActiveGenerations !== null && !isIntegerIn(s.guildMaxActiveGenerations, 1, L.guildMaxActiveGenerationsMax)) {
    return problem('error.settingConcurrency', { max: L.guildMaxActiveGenerationsMax });
  }
  if (!isIntegerIn(s.dailyBudgetCredits, 0, L.dailyBudgetCreditsMax)) {
    return problem('error.settingBudget', { max: L.dailyBudgetCreditsMax });
  }
  if (s.memberCooldownSeconds !== null && !isIntegerIn(s.memberCooldownSeconds, 0, L.memberCooldownSecondsMax)) {
    return problem('error.settingCooldown', { max: L.memberCooldownSecondsMax });
  }
  if (s.allowedModels.length > L.allowedModels) return problem('error.settingTooManyModels', { max: L.allowedModels });
  const defaultModel = s.defaults.model;
  if (defaultModel !== undefined) {
    const spec = findModel(defaultModel);
    if (!spec) return problem('error.settingModelUnknown', { model: defaultModel });
    if (s.allowedModels.length > 0 && !s.allowedModels.includes(defaultModel)) {
      return problem('error.settingDefaultModelNotAllowed', { model: defaultModel });
    }
    // A default every plain command would trip is a mistake: check it against the default model.
    const { duration, orientation, size } = s.defaults;
    const check = chooseModelOptions(spec, {
      duration,
      orientation,
      size,
      imageCount: spec.images.min,
      hasEndImage: false,
      hasCharacter: false,
    });
    if (!check.ok) return { key: check.error.key, params: check.error.params };
  }
  return undefined;
}

/** The config's preflight rules with a guild's settings on top. */
export function guildPreflightRules(base: PreflightRules, settings: GuildSettings): PreflightRules {
  return {
    ...base,
    defaults: { ...base.defaults, ...settings.defaults },
    offeredModelIds:
      settings.allowedModels.length > 0 ? base.offeredModelIds.filter((id) => settings.allowedModels.includes(id)) : base.offeredModelIds,
    allowedChannelIds: new Set(settings.allowedChannelIds),
    blockedWords: settings.blockedWords,
    proRoleIds: new Set(settings.proRoleIds),
  };
}

/** The quota, budget and cooldown a guild set, for GenerationService (undefined: the bot's default). */
export function guildLimitsOf(settings: GuildSettings): GuildStartLimits {
  return {
    ...(settings.memberDailyQuota !== null ? { memberDailyQuota: settings.memberDailyQuota } : {}),
    ...(settings.memberCooldownSeconds !== null ? { memberCooldownSeconds: settings.memberCooldownSeconds } : {}),
    dailyBudgetCredits: settings.dailyBudgetCredits,
  };
}

function withItem<T>(list: readonly T[], item: T): readonly T[] {
  return list.includes(item) ? list : [...list, item];
}

function isIntegerIn(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
