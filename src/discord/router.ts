import { randomUUID } from 'node:crypto';
import { MessageFlags, type ChatInputCommandInteraction, type Interaction } from 'discord.js';
import type { Logger } from '../core/ports.js';
import { UserFacingError } from '../core/user-facing-error.js';
import type { CommandContext, SlashCommand } from './command.js';
import { classifyDiscordError } from './discord-errors.js';

/** Dispatches interactions to commands and owns every error reply. */
export class InteractionRouter {
  private readonly commands: Map<string, SlashCommand>;
  private shuttingDown = false;

  constructor(
    commands: readonly SlashCommand[],
    private readonly context: CommandContext,
    private readonly logger: Logger,
  ) {
    this.commands = new Map(commands.map((c) => [c.data.name, c]));
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
    if (!interaction.isChatInputCommand()) return;

    const command = this.commands.get(interaction.commandName);
    const log = this.logger.child({
      interactionId: interaction.id,
      command: interaction.commandName,
      ...(interaction.guildId ? { guildId: interaction.guildId } : {}),
    });
    if (!command) {
      log.warn({}, 'unknown command');
      await this.replyError(interaction, 'This command is not known to this version of the bot.', log);
      return;
    }
    if (this.shuttingDown) {
      await this.replyError(interaction, 'The bot is restarting; try again in a minute.', log);
      return;
    }
    try {
      await command.execute(interaction, this.context);
    } catch (err) {
      if (err instanceof UserFacingError) {
        log.info({ code: err.code }, 'refused');
        await this.replyError(interaction, err.message, log);
        return;
      }
      const referenceId = randomUUID().slice(0, 8);
      log.error({ err, referenceId }, 'command failed');
      await this.replyError(interaction, `Something went wrong on my side (reference ${referenceId}). Nothing was charged; please try again.`, log);
    }
  }

  private async replyError(interaction: ChatInputCommandInteraction, message: string, log: Logger): Promise<void> {
    const content = `⚠️ ${message}`;
    try {
      if (interaction.deferred || interaction.replied) await interaction.editReply({ content, embeds: [], components: [] });
      else await interaction.reply({ content, flags: MessageFlags.Ephemeral });
    } catch (err) {
      // The interaction may have expired (10062) or been answered elsewhere; nothing else to tell.
      log.warn({ err, kind: classifyDiscordError(err).kind }, 'could not send the error reply');
    }
  }
}
