/** The bot's defaults of the limits a server may set for itself (the env variables of the same names). */
export interface LimitDefaults {
  /** `MEMBER_DAILY_QUOTA`: generations per member per UTC day; 0 = unlimited. */
  memberDailyQuota: number;
  /** `GUILD_MAX_ACTIVE_GENERATIONS`: generations running at once in one server. */
  guildMaxActiveGenerations: number;
  /** `MEMBER_COOLDOWN_SECONDS`: seconds between two starts of a member; 0 = none. */
  memberCooldownSeconds: number;
}

/** A server's own limits (its settings); null or absent: the bot's default. */
export interface OwnLimits {
  memberDailyQuota?: number | null;
  guildMaxActiveGenerations?: number | null;
  memberCooldownSeconds?: number | null;
  /** Credits per UTC day; 0 or absent = no budget (there is no bot-wide default). */
  dailyBudgetCredits?: number;
}

/** The limits that apply in a server, and which of them are the bot's default. */
export interface EffectiveLimits extends LimitDefaults {
  dailyBudgetCredits: number;
  isDefault: Record<keyof LimitDefaults, boolean>;
}

/**
 * The one place that decides "the server's value, else the bot's default": the scheduler, the
 * generation service (through the engine) and `/sora-admin settings` all read limits through it.
 */
export function effectiveLimits(own: OwnLimits, defaults: LimitDefaults): EffectiveLimits {
  const pick = (key: keyof LimitDefaults) => own[key] ?? defaults[key];
  const isDefault = (key: keyof LimitDefaults) => own[key] === null || own[key] === undefined;
  return {
    memberDailyQuota: pick('memberDailyQuota'),
    guildMaxActiveGenerations: pick('guildMaxActiveGenerations'),
    memberCooldownSeconds: pick('memberCooldownSeconds'),
    dailyBudgetCredits: own.dailyBudgetCredits ?? 0,
    isDefault: {
      memberDailyQuota: isDefault('memberDailyQuota'),
      guildMaxActiveGenerations: isDefault('guildMaxActiveGenerations'),
      memberCooldownSeconds: isDefault('memberCooldownSeconds'),
    },
  };
}
