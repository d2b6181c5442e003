import type {
  AutocompleteInteraction,
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { GenerationService } from '../core/generation-service.js';
import type { PreflightRules } from '../core/preflight.js';
import type { Clock, Logger } from '../core/ports.js';

/** What a command's `execute` may use; built once in main.ts. */
export interface CommandContext {
  generation: GenerationService;
  preflightRules: PreflightRules;
  clock: Clock;
  logger: Logger;
}

/** A slash command: its registration JSON and its handler. */
export interface SlashCommand {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, context: CommandContext): Promise<void>;
}
