import { randomUUID } from 'node:crypto';
import { MessageFlags, type Interaction, type RepliableInteraction } from 'discord.js';
import type { Logger } from '../core/ports.js';
import { UserFacingError } from '../core/user-facing-error.js';
import { t } from '../i18n/index.js';
import type { CommandContext, ComponentHandler, MessageCommand, SlashCommand } from './command.js';
import { parseCustomId } from './custom-ids.js';
import { classifyDiscordError } from './discord-errors.js';

/** What the router serves besides slash commands. */
export interface RouterExtras {
  /** Our buttons and modals (custom ids `sora:…`). */
  components?: ComponentHandler;
  /** Message context-menu commands, by name. */
  messageCommands?: readonly MessageCommand[];
}

/** Dispatches interactions to commands, buttons and modals, and owns every error reply. */
export class InteractionRouter {
  private readonly commands: Map<string, SlashCommand>;
  private readonly messageCommands: Map<string, MessageCommand>;
  private shuttingDown = false;

  constructor(
    commands: readonly SlashCommand[],
    private readonly context: CommandContext,
    private readonly logger: Logger,
    private readonly extras: RouterExtras = {},
  ) {
    this.commands = new Map(commands.map((c) => [c.data.name, c]));
    this.messageCommands = new Map((extras.messageCommands ?? []).map((c) => [c.data.name, c]));
  }

  /** New commands are answered with "restarting" from now on. */
  beginShutdown(): void {
    this.shuttingDown = true;
  }

  /** The `interactionCreate` listener; never throws. */
  async handle(interaction: Interaction): Promise<void> {
    if (interaction.isAutocomplete()) {
      const command = this.commands.get(interaction.commandName);
      await command?.autocomplete?.(interaction, this.context).catch((err: unknown) => {
        this.logger.warn({ err, interactionId: interaction.id }, 'autocomplete failed');
      });
      return;
    }
    const work = this.pick(interaction);
    if (!work) return;
    const log = this.logger.child({
      interactionId: interaction.id,
      command: work.name,
      ...(interaction.guildId ? { guildId: interaction.guildId } : {}),
    });
    if (!work.run) {
      log.warn({}, 'unknown command');
      await this.replyError(work.interaction, t(work.interaction.locale, 'router.unknownCommand'), log);
      return;
    }
    if (this.shuttingDown) {
      await this.replyError(work.interaction, t(work.interaction.locale, 'router.restarting'), log);
      return;
    }
    try {
      await work.run();
    } catch (err) {
      if (err instanceof UserFacingError) {
        log.info({ code: err.code }, 'refused');
        await this.replyError(work.interaction, err.localized(work.interaction.locale), log);
        return;
      }
      const referenceId = randomUUID().slice(0, 8);
      log.error({ err, referenceId }, 'command failed');
      await this.replyError(work.interaction, t(work.interaction.locale, 'router.internalError', { reference: referenceId }), log);
    }
  }

  private pick(
    interaction: Interaction,
  ): { name: string; interaction: RepliableInteraction; run: (() => Promise<void>) | undefined } | undefined {
    const { context } = this;
    if (interaction.isChatInputCommand()) {
      const command = this.commands.get(interaction.commandName);
      return { name: interaction.commandName, interaction, run: command && (() => command.execute(interaction, context)) };
    }
    if (interaction.isMessageContextMenuCommand()) {
      const command = this.messageCommands.get(interaction.commandName);
      return { name: interaction.commandName, interaction, run: command && (() => command.execute(interaction, context)) };
    }
    const components = this.extras.components;
    if (interaction.isButton() || interaction.isModalSubmit()) {
      const parsed = parseCustomId(interaction.customId);
      // Not ours (another bot's leftovers, an old layout): say so rather than let Discord show "failed".
      const name = parsed ? `${interaction.isButton() ? 'button' : 'modal'}:${parsed.action}` : 'component:unknown';
      if (!parsed || !components) return { name, interaction, run: undefined };
      return {
        name,
        interaction,
        run: interaction.isButton() ? () => components.button(interaction, context) : () => components.modal(interaction, context),
      };
    }
    return undefined;
  }

  private async replyError(interaction: RepliableInteraction, message: string, log: Logger): Promise<void> {
    const content = `⚠️ ${message}`;
    try {
      if (!interaction.deferred && !interaction.replied) {
        await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
      } else if (interaction.isChatInputCommand() || interaction.ephemeral === true) {
        await interaction.editReply({ content, embeds: [], components: [] });
      } else {
        // A button's deferred update would otherwise replace the public message it sits on.
        await interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
      }
    } catch (err) {
      // The interaction may have expired (10062) or been answered elsewhere; nothing else to tell.
      log.warn({ err, kind: classifyDiscordError(err).kind }, 'could not send the error reply');
    }
  }
}
