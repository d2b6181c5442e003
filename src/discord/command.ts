import type {
  APIMessage,
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  MessageContextMenuCommandInteraction,
  ModalSubmitInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
  RESTPostAPIContextMenuApplicationCommandsJSONBody,
} from 'discord.js';
import type { GenerationService } from '../core/generation-service.js';
import type { ModelAvailability } from '../core/model-availability.js';
import type { PreflightRules } from '../core/preflight.js';
import type { Clock, Logger } from '../core/ports.js';
import type { Task } from '../core/task.js';
import type { UsageReport } from '../core/usage-report.js';
import type { SettingsStore } from '../settings/settings-store.js';
import type { LimitDefaults } from '../settings/effective-limits.js';

/** What a command's `execute` may use; built once in main.ts. */
export interface CommandContext {
  generation: GenerationService;
  /** The config's rules; a guild's settings apply on top (`guildPreflightRules`). */
  preflightRules: PreflightRules;
  /** Guild settings, edited with `/sora-admin`. */
  settings: SettingsStore;
  /** Which models Ace Data Cloud serves right now; absent in tests that do not need it. */
  modelAvailability?: ModelAvailability;
  /** The bot's defaults a guild's limits fall back to. */
  limitDefaults: LimitDefaults;
  clock: Clock;
  logger: Logger;
  /** Bot-token REST the buttons need; absent in tests that do not use them. */
  discord?: DiscordActions;
  /** Posts results to the guild's showcase channel. */
  showcase?: Showcase;
  /** A guild's spend over its last UTC days, from the ledger (`/sora-admin usage`). */
  usageReports?: { forGuild(guildId: string, days: number): Promise<UsageReport> };
}

/** What the buttons and the context menu do on Discord besides answering the interaction. */
export interface DiscordActions {
  deleteMessage(channelId: string, messageId: string): Promise<void>;
  /** Renews signed attachment URLs (`POST /attachments/refresh-urls`); an unknown URL maps to undefined. */
  refreshAttachmentUrls(urls: readonly string[]): Promise<Map<string, string>>;
  fetchMessage(channelId: string, messageId: string): Promise<APIMessage | undefined>;
}

/** Where a shared result went, or why it was not shared. */
export type ShareOutcome =
  | { kind: 'shared'; channelId: string; messageId: string }
  | { kind: 'already_shared'; channelId: string; messageId: string }
  | { kind: 'no_channel' }
  | { kind: 'not_a_video' }
  | { kind: 'failed'; reason: string };

/** The guild's showcase channel: each result is shared at most once, across restarts. */
export interface Showcase {
  share(task: Task): Promise<ShareOutcome>;
}

/** Handles our buttons and modals (custom ids `sora:<action>:…`). */
export interface ComponentHandler {
  button(interaction: ButtonInteraction, context: CommandContext): Promise<void>;
  modal(interaction: ModalSubmitInteraction, context: CommandContext): Promise<void>;
}

/** A message context-menu command (type 3): its registration JSON and its handler. */
export interface MessageCommand {
  data: RESTPostAPIContextMenuApplicationCommandsJSONBody;
  execute(interaction: MessageContextMenuCommandInteraction, context: CommandContext): Promise<void>;
}

/** A slash command: its registration JSON and its handler. */
export interface SlashCommand {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, context: CommandContext): Promise<void>;
}
