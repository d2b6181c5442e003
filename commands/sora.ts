import {
  MessageFlags,
  SlashCommandBuilder,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { DURATIONS, MODELS, ORIENTATIONS, SIZES, type TaskState } from '../src/core/task.js';
import { UserFacingError } from '../src/core/user-facing-error.js';
import type { CommandContext, SlashCommand } from '../src/discord/command.js';
import { renderHistory } from '../src/discord/render-history.js';
import { renderStatus } from '../src/discord/render.js';
import { describeCancel } from './result-buttons.js';
import { preflightAndStart } from '../src/discord/start-generation.js';

const HISTORY_SIZE = 10;
const CANCELLABLE: ReadonlySet<TaskState> = new Set<TaskState>(['queued', 'submitted', 'timed_out']);

const data = new SlashCommandBuilder()
  .setName('sora')
  .setDescription('Make AI videos with Sora')
  .setDMPermission(false)
  .addSubcommand((sub) =>
    sub
      .setName('generate')
      .setDescription('Generate a video from a text prompt (and optionally an image)')
      .addStringOption((o) =>
        o.setName('prompt').setDescription('What the video should show').setRequired(true).setMaxLength(4000),
      )
      .addAttachmentOption((o) => o.setName('image').setDescription('A reference image (PNG, JPEG, WebP or GIF)'))
      .addStringOption((o) =>
        o
          .setName('model')
          .setDescription('sora-2 (default) or sora-2-pro (higher quality, 25 s)')
          .addChoices(...MODELS.map((m) => ({ name: m, value: m }))),
      )
      .addIntegerOption((o) =>
        o
          .setName('duration')
          .setDescription('Length in seconds (25 s needs sora-2-pro)')
          .addChoices(...DURATIONS.map((d) => ({ name: `${d} seconds`, value: d }))),
      )
      .addStringOption((o) =>
        o
          .setName('orientation')
          .setDescription('landscape (16:9) or portrait (9:16)')
          .addChoices(...ORIENTATIONS.map((v) => ({ name: v, value: v }))),
      )
      .addStringOption((o) =>
        o
          .setName('size')
          .setDescription('small (standard) or large (HD)')
          .addChoices(...SIZES.map((v) => ({ name: v, value: v }))),
      ),
  )
  .addSubcommand((sub) =>
    sub
      .setName('status')
      .setDescription('Show the state of one of your generations')
      .addStringOption((o) =>
        o.setName('task').setDescription('The task id (ours or Ace Data Cloud’s)').setRequired(true).setAutocomplete(true),
      ),
  )
  .addSubcommand((sub) =>
    sub
      .setName('cancel')
      .setDescription('Cancel a queued generation, or stop following a running one')
      .addStringOption((o) =>
        o.setName('task').setDescription('The task id').setRequired(true).setAutocomplete(true),
      ),
  )
  .addSubcommand((sub) => sub.setName('history').setDescription('Your recent generations in this server'));

async function generate(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
  const attachment = interaction.options.getAttachment('image');
  await preflightAndStart(interaction, context, {
    prompt: interaction.options.getString('prompt', true),
    model: interaction.options.getString('model'),
    duration: interaction.options.getInteger('duration'),
    orientation: interaction.options.getString('orientation'),
    size: interaction.options.getString('size'),
    attachment: attachment
      ? { name: attachment.name, contentType: attachment.contentType, size: attachment.size, url: attachment.url }
      : null,
  });
}

async function cancel(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
  const id = interaction.options.getString('task', true);
  const content = describeCancel(await context.generation.cancel(interaction.guildId ?? '', id, interaction.user.id), id);
  await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
}

async function status(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
  const id = interaction.options.getString('task', true);
  const task = interaction.guildId ? await context.generation.find(interaction.guildId, id) : undefined;
  if (!task) {
    throw new UserFacingError('TASK_NOT_FOUND', `No task \`${id.slice(0, 40).replace(/`/g, '')}\` in this server.`);
  }
  await interaction.reply({
    ...renderStatus(task, context.clock.now(), context.generation.positionOf(task.id)),
    flags: MessageFlags.Ephemeral,
  });
}

async function history(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
  if (!interaction.guildId) throw new UserFacingError('NOT_IN_GUILD', 'History is kept per server; use this in a server.');
  const tasks = await context.generation.history(interaction.guildId, interaction.user.id, HISTORY_SIZE);
  await interaction.reply({ ...renderHistory(tasks, context.clock.now()), flags: MessageFlags.Ephemeral });
}

async function autocomplete(interaction: AutocompleteInteraction, context: CommandContext): Promise<void> {
  if (!interaction.guildId) return interaction.respond([]);
  const typed = interaction.options.getFocused().toLowerCase();
  const all = await context.generation.history(interaction.guildId, interaction.user.id, 25);
  // Cancel offers only what can still be cancelled.
  const tasks = interaction.options.getSubcommand(false) === 'cancel' ? all.filter((t) => CANCELLABLE.has(t.state)) : all;
  // Autocomplete must be answered within 3 s and cannot be deferred; the store read is local.
  await interaction.respond(
    tasks
      .filter((t) => t.id.includes(typed) || t.request.prompt.toLowerCase().includes(typed))
      .slice(0, 25)
      .map((t) => ({ name: `${t.id} · ${t.state} · ${t.request.prompt}`.slice(0, 100), value: t.id })),
  );
}

/** `/sora generate | status | cancel | history`. */
export const soraCommand: SlashCommand = {
  data: data.toJSON(),
  async execute(interaction, context) {
    switch (interaction.options.getSubcommand()) {
      case 'generate':
        return generate(interaction, context);
      case 'status':
        return status(interaction, context);
      case 'history':
        return history(interaction, context);
      case 'cancel':
        return cancel(interaction, context);
      default:
        throw new UserFacingError('OPTION_INVALID', 'Unknown subcommand.');
    }
  },
  autocomplete,
};
