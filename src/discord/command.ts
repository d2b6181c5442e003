import type {
  AutocompleteInteraction,
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { GenerationService } from '../core/generation-service.js';
import type { PreflightRules } from '../core/preflight.js';
import type { Clock, Logger } from '../core/ports.js';
import type { SettingsStore } from '../settings/settings-store.js';

/** What a command's `execute` may use; built once in main.ts. */
export interface CommandContext {
  generation: GenerationService;
  /** The config's rules; a guild's settings apply on top (`guildPreflightRules`). */
  preflightRules: PreflightRules;
  /** Guild settings, edited with `/sora-admin`. */
  settings: SettingsStore;
  /** The bot's defaults a guild's limits fall back to. */
  limitDefaults: { memberDailyQuota: number; perGuildConcurrency: number };
  clock: Clock;
  logger: Logger;
}

/** A slash command: its registration JSON and its handler. */
export interface SlashCommand {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, context: CommandContext): Promise<void>;
}
