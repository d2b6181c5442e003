import { MODEL_IDS } from '../../src/core/models/catalogue.js';
import { describe, expect, it } from 'vitest';
import type { PreflightRules } from '../../src/core/preflight.js';
import {
  applySettingsEdit,
  DEFAULT_GUILD_SETTINGS,
  guildLimitsOf,
  guildPreflightRules,
  InvalidGuildSettingsError,
  normalizeBlockedWord,
  parseGuildSettings,
  SETTINGS_LIMITS,
  splitBlockedWords,
  type GuildSettings,
  type SettingsEdit,
} from '../../src/settings/guild-settings.js';
import { t } from '../../src/i18n/index.js';

const CHANNEL = '600000000000000001';
const OTHER_CHANNEL = '600000000000000002';
const ROLE = '600000000000000003';

function applied(settings: GuildSettings, edit: SettingsEdit): GuildSettings {
  const result = applySettingsEdit(settings, edit);
  if (!result.ok) throw new Error(`expected the edit to apply: ${result.problem.key}`);
  return result.settings;
}

/** The refusal in English (the admin sees it in their own language). */
function problemOf(settings: GuildSettings, edit: SettingsEdit, locale = 'en'): string {
  const result = applySettingsEdit(settings, edit);
  if (result.ok) throw new Error('expected the edit to be refused');
  return t(locale, result.problem.key, result.problem.params);
}

describe('guild settings', () => {
  it('defaults change nothing: no channel restriction, bot limits, no budget', () => {
    expect(DEFAULT_GUILD_SETTINGS).toMatchObject({
      showcaseChannelId: null,
      allowedChannelIds: [],
      memberDailyQuota: null,
      guildMaxActiveGenerations: null,
      memberCooldownSeconds: null,
      dailyBudgetCredits: 0,
      defaults: {},
      proRoleIds: [],
      blockedWords: [],
      adminLogChannelId: null,
    });
    expect(Object.isFrozen(DEFAULT_GUILD_SETTINGS)).toBe(true);
  });

  it('sets and clears the showcase and log channels', () => {
    const set = applied(DEFAULT_GUILD_SETTINGS, { kind: 'set_showcase', channelId: CHANNEL });
    expect(set.showcaseChannelId).toBe(CHANNEL);
    expect(applied(set, { kind: 'set_showcase', channelId: null }).showcaseChannelId).toBeNull();
    const log = applied(DEFAULT_GUILD_SETTINGS, { kind: 'set_log_channel', channelId: CHANNEL });
    expect(log.adminLogChannelId).toBe(CHANNEL);
  });

  it('adds channels once, removes and clears them, and reports whether anything changed', () => {
    let s = applied(DEFAULT_GUILD_SETTINGS, { kind: 'allow_channel', channelId: CHANNEL });
    s = applied(s, { kind: 'allow_channel', channelId: OTHER_CHANNEL });
    const again = applySettingsEdit(s, { kind: 'allow_channel', channelId: CHANNEL });
    expect(again).toMatchObject({ ok: true, changed: false });
    expect(s.allowedChannelIds).toEqual([CHANNEL, OTHER_CHANNEL]);
    s = applied(s, { kind: 'disallow_channel', channelId: CHANNEL });
    expect(s.allowedChannelIds).toEqual([OTHER_CHANNEL]);
    expect(applied(s, { kind: 'clear_channels' }).allowedChannelIds).toEqual([]);
  });

  it('refuses more allowed channels than the limit', () => {
    let s = DEFAULT_GUILD_SETTINGS;
    for (let i = 0; i < SETTINGS_LIMITS.allowedChannels; i++) {
      s = applied(s, { kind: 'allow_channel', channelId: String(700000000000000000n + BigInt(i)) });
    }
    expect(problemOf(s, { kind: 'allow_channel', channelId: CHANNEL })).toMatch(/At most 25 channels/);
  });

  it('sets limits, returns them to the default with null, and bounds them', () => {
    const s = applied(DEFAULT_GUILD_SETTINGS, {
      kind: 'set_limits',
      memberDailyQuota: 3,
      guildMaxActiveGenerations: 2,
      dailyBudgetCredits: 50,
    });
    expect(s).toMatchObject({ memberDailyQuota: 3, guildMaxActiveGenerations: 2, dailyBudgetCredits: 50 });
    // Undefined leaves a limit alone; null resets it.
    const reset = applied(s, { kind: 'set_limits', memberDailyQuota: null, dailyBudgetCredits: null });
    expect(reset).toMatchObject({ memberDailyQuota: null, guildMaxActiveGenerations: 2, dailyBudgetCredits: 0 });

    expect(problemOf(s, { kind: 'set_limits', guildMaxActiveGenerations: 0 })).toMatch(/from 1 to/);
    expect(problemOf(s, { kind: 'set_limits', memberDailyQuota: -1 })).toMatch(/from 0/);
    expect(problemOf(s, { kind: 'set_limits', memberDailyQuota: 1.5 })).toMatch(/whole number/);
    expect(problemOf(s, { kind: 'set_limits', dailyBudgetCredits: SETTINGS_LIMITS.dailyBudgetCreditsMax + 1 })).toMatch(/budget/);
  });

  it('sets the member cooldown (0 = none, up to an hour), returns it to the default with null', () => {
    const s = applied(DEFAULT_GUILD_SETTINGS, { kind: 'set_limits', memberCooldownSeconds: 30 });
    expect(s.memberCooldownSeconds).toBe(30);
    expect(applied(s, { kind: 'set_limits', memberCooldownSeconds: 0 }).memberCooldownSeconds).toBe(0);
    expect(applied(s, { kind: 'set_limits', memberCooldownSeconds: null }).memberCooldownSeconds).toBeNull();
    expect(applied(s, { kind: 'set_limits', memberCooldownSeconds: 3600 }).memberCooldownSeconds).toBe(3600);
    expect(problemOf(s, { kind: 'set_limits', memberCooldownSeconds: 3601 })).toBe(
      'The cooldown must be a whole number of seconds from 0 (none) to 3600.',
    );
    expect(problemOf(s, { kind: 'set_limits', memberCooldownSeconds: -1 })).toMatch(/from 0/);
    // A record stored before the setting existed reads as "the bot's default".
    expect(parseGuildSettings('g', { schemaVersion: 1 }).memberCooldownSeconds).toBeNull();
    expect(() => parseGuildSettings('g', { memberCooldownSeconds: 3601 })).toThrow(/memberCooldownSeconds/);
  });

  it('words a refusal as a catalogue message, so the admin reads it in their language', () => {
    const edit: SettingsEdit = { kind: 'set_limits', guildMaxActiveGenerations: 0 };
    expect(problemOf(DEFAULT_GUILD_SETTINGS, edit)).toBe('The number of generations at once must be a whole number from 1 to 100.');
    expect(problemOf(DEFAULT_GUILD_SETTINGS, edit, 'zh-CN')).toBe('同时生成数必须是 1 到 100 之间的整数。');
    expect(problemOf(DEFAULT_GUILD_SETTINGS, edit, 'ja')).toBe('同時生成数は 1 から 100 までの整数で指定してください。');
  });

  it('merges defaults, resets them, and refuses a default the default model does not take', () => {
    let s = applied(DEFAULT_GUILD_SETTINGS, { kind: 'set_defaults', defaults: { orientation: 'portrait' }, reset: false });
    s = applied(s, { kind: 'set_defaults', defaults: { size: 'large' }, reset: false });
    expect(s.defaults).toEqual({ orientation: 'portrait', size: 'large' });
    expect(applied(s, { kind: 'set_defaults', defaults: { model: 'sora-2-pro' }, reset: true }).defaults).toEqual({
      model: 'sora-2-pro',
    });
    // Without a default model, a duration default applies only to models that take it.
    expect(applied(s, { kind: 'set_defaults', defaults: { duration: 25 }, reset: false }).defaults).toMatchObject({ duration: 25 });
    expect(problemOf(s, { kind: 'set_defaults', defaults: { duration: 25, model: 'sora-2' }, reset: false })).toMatch(/10, 15/);
    expect(problemOf(s, { kind: 'set_defaults', defaults: { model: 'no-such-model' }, reset: false })).toMatch(/no-such-model/);
    expect(applied(s, { kind: 'set_defaults', defaults: { duration: 25, model: 'sora-2-pro' }, reset: false }).defaults).toMatchObject({
      duration: 25,
      model: 'sora-2-pro',
    });
  });

  it('adds and removes pro roles', () => {
    const s = applied(DEFAULT_GUILD_SETTINGS, { kind: 'add_pro_role', roleId: ROLE });
    expect(s.proRoleIds).toEqual([ROLE]);
    expect(applied(s, { kind: 'remove_pro_role', roleId: ROLE }).proRoleIds).toEqual([]);
    expect(applied(s, { kind: 'clear_pro_roles' }).proRoleIds).toEqual([]);
  });

  it('stores blocked words normalized (NFKC, lower case), once each', () => {
    expect(normalizeBlockedWord('  ＮＳＦＷ   Content ')).toBe('nsfw content');
    expect(splitBlockedWords('Gore, 血腥，暴力、gore\nnsfw')).toEqual(['gore', '血腥', '暴力', 'nsfw']);
    let s = applied(DEFAULT_GUILD_SETTINGS, { kind: 'add_blocked_words', words: ['Gore', '血腥'] });
    s = applied(s, { kind: 'add_blocked_words', words: ['GORE'] });
    expect(s.blockedWords).toEqual(['gore', '血腥']);
    expect(applied(s, { kind: 'remove_blocked_words', words: ['GoRe'] }).blockedWords).toEqual(['血腥']);
    expect(problemOf(s, { kind: 'add_blocked_words', words: ['  '] })).toMatch(/at least one/);
    expect(problemOf(s, { kind: 'add_blocked_words', words: ['x'.repeat(SETTINGS_LIMITS.blockedWordMaxChars + 1)] })).toMatch(
      /at most 100 characters/,
    );
  });

  it('parses stored records, filling fields a record from an older version lacks', () => {
    const stored = { schemaVersion: 1, showcaseChannelId: CHANNEL, blockedWords: ['gore'] };
    expect(parseGuildSettings('g', stored)).toEqual({ ...DEFAULT_GUILD_SETTINGS, showcaseChannelId: CHANNEL, blockedWords: ['gore'] });
    expect(() => parseGuildSettings('g', { memberDailyQuota: 'ten' })).toThrow(InvalidGuildSettingsError);
    expect(() => parseGuildSettings('g', { allowedChannelIds: ['not-a-snowflake'] })).toThrow(/allowedChannelIds/);
  });

  it('turns settings into preflight rules and core limits', () => {
    const base: PreflightRules = {
      allowedGuildIds: undefined,
      promptMaxChars: 2000,
      imageMaxBytes: 1,
      defaults: { model: 'sora-2', duration: 10, orientation: 'landscape', size: 'small' },
      offeredModelIds: MODEL_IDS,
    };
    let s = applied(DEFAULT_GUILD_SETTINGS, { kind: 'allow_channel', channelId: CHANNEL });
    s = applied(s, { kind: 'set_defaults', defaults: { orientation: 'portrait' }, reset: false });
    s = applied(s, { kind: 'add_pro_role', roleId: ROLE });
    s = applied(s, { kind: 'add_blocked_words', words: ['gore'] });
    const rules = guildPreflightRules(base, s);
    expect(rules.defaults).toEqual({ model: 'sora-2', duration: 10, orientation: 'portrait', size: 'small' });
    expect([...rules.allowedChannelIds!]).toEqual([CHANNEL]);
    expect([...rules.proRoleIds!]).toEqual([ROLE]);
    expect(rules.blockedWords).toEqual(['gore']);

    expect(guildLimitsOf(DEFAULT_GUILD_SETTINGS)).toEqual({ dailyBudgetCredits: 0 });
    expect(guildLimitsOf(applied(s, { kind: 'set_limits', memberDailyQuota: 0, dailyBudgetCredits: 5 }))).toEqual({
      memberDailyQuota: 0,
      dailyBudgetCredits: 5,
    });
    expect(guildLimitsOf(applied(s, { kind: 'set_limits', memberCooldownSeconds: 0 }))).toEqual({
      memberCooldownSeconds: 0,
      dailyBudgetCredits: 0,
    });
  });
});
