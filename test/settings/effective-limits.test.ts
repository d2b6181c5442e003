import { describe, expect, it } from 'vitest';
import { effectiveLimits } from '../../src/settings/effective-limits.js';
import { DEFAULT_GUILD_SETTINGS, parseGuildSettings, storedGuildSettings } from '../../src/settings/guild-settings.js';

const DEFAULTS = { memberDailyQuota: 10, guildMaxActiveGenerations: 3, memberCooldownSeconds: 30 };

describe('effectiveLimits', () => {
  it("a server that set nothing gets the bot's defaults, each marked as the default", () => {
    expect(effectiveLimits(DEFAULT_GUILD_SETTINGS, DEFAULTS)).toEqual({
      ...DEFAULTS,
      dailyBudgetCredits: 0,
      isDefault: { memberDailyQuota: true, guildMaxActiveGenerations: true, memberCooldownSeconds: true },
    });
    expect(effectiveLimits({}, DEFAULTS).guildMaxActiveGenerations).toBe(3);
  });

  it("a server's own value wins, 0 included (unlimited quota, no cooldown)", () => {
    const applied = effectiveLimits(
      { ...DEFAULT_GUILD_SETTINGS, memberDailyQuota: 0, guildMaxActiveGenerations: 7, memberCooldownSeconds: 0, dailyBudgetCredits: 40 },
      DEFAULTS,
    );
    expect(applied).toEqual({
      memberDailyQuota: 0,
      guildMaxActiveGenerations: 7,
      memberCooldownSeconds: 0,
      dailyBudgetCredits: 40,
      isDefault: { memberDailyQuota: false, guildMaxActiveGenerations: false, memberCooldownSeconds: false },
    });
  });
});

describe('stored guild settings keep their keys', () => {
  it('reads `maxActiveGenerations` of a stored record as the guild cap and writes it back under that key', () => {
    const settings = parseGuildSettings('610000000000000001', { schemaVersion: 1, maxActiveGenerations: 2 });
    expect(settings.guildMaxActiveGenerations).toBe(2);
    const stored = storedGuildSettings(settings);
    expect(stored.maxActiveGenerations).toBe(2);
    expect(stored).not.toHaveProperty('guildMaxActiveGenerations');
    expect(parseGuildSettings('610000000000000001', stored)).toEqual(settings);
  });
});
