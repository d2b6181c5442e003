import { MODEL_IDS } from '../../src/core/models/catalogue.js';
import { systemClock } from '../../src/core/ports.js';
import type { CommandContext } from '../../src/discord/command.js';
import type { createCoreHarness } from './core-harness.js';
import { SilentLogger } from './silent-logger.js';

/** The command context main.ts builds, over a core harness and the given settings (defaults as in .env.example). */
export function commandContext(
  harness: ReturnType<typeof createCoreHarness>,
  settings: CommandContext['settings'],
  overrides: Partial<CommandContext> & { promptMaxChars?: number } = {},
): CommandContext {
  const { promptMaxChars = 2000, ...rest } = overrides;
  return {
    generation: harness.service,
    clock: systemClock,
    logger: new SilentLogger(),
    settings,
    // No cooldown, as the core harness: tests start generations back to back.
    limitDefaults: { memberDailyQuota: 10, guildMaxActiveGenerations: 3, memberCooldownSeconds: 0 },
    preflightRules: {
      allowedGuildIds: undefined,
      promptMaxChars,
      imageMaxBytes: 25 * 1024 * 1024,
      defaults: { model: 'sora-2', duration: 10, orientation: 'landscape', size: 'small' },
      offeredModelIds: MODEL_IDS,
    },
    ...rest,
  };
}
