import {
  MessageFlags,
  SlashCommandBuilder,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { DURATIONS, MODELS, ORIENTATIONS, SIZES, type TaskState } from '../src/core/task.js';
import { UserFacingError } from '../src/core/user-facing-error.js';
import type { CommandContext, SlashCommand } from '../src/discord/command.js';
import { localizeCommand } from '../src/discord/command-localizations.js';
import { HISTORY_PAGE_SIZE, renderHistory, type HistoryBody } from '../src/discord/render-history.js';
import { renderStatus } from '../src/discord/render.js';
import { describeCancel } from './result-buttons.js';
import { preflightAndStart } from '../src/discord/start-generation.js';

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
  const content = describeCancel(await context.generation.cancel(interaction.guildId ?? '', id, interaction.user.id), id, interaction.locale);
  await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
}

async function status(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
  const id = interaction.options.getString('task', true);
  const task = interaction.guildId ? await context.generation.find(interaction.guildId, id) : undefined;
  if (!task) {
    throw new UserFacingError('TASK_NOT_FOUND', 'error.taskNotFound', { id: id.slice(0, 40).replace(/`/g, '') });
  }
  await interaction.reply({
    ...renderStatus(task, context.clock.now(), context.generation.positionOf(task.id), interaction.locale),
    flags: MessageFlags.Ephemeral,
  });
}

/** One page of a member's history, read afresh from the store (so paging survives a restart). */
async function historyPage(
  context: CommandContext,
  guildId: string,
  userId: string,
  page: number,
  locale: string | null | undefined,
): Promise<HistoryBody> {
  const wanted = Math.max(0, Math.floor(page));
  // One more than the page's end tells whether an older page exists.
  const tasks = await context.generation.history(guildId, userId, (wanted + 1) * HISTORY_PAGE_SIZE + 1);
  // A page past the end (the store kept fewer tasks) shows the last page there is.
  const lastPage = Math.max(0, Math.ceil(tasks.length / HISTORY_PAGE_SIZE) - 1);
  const shown = Math.min(wanted, lastPage);
  const start = shown * HISTORY_PAGE_SIZE;
  const onPage = tasks.slice(start, start + HISTORY_PAGE_SIZE);
  const quotaLeft = await context.generation.quotaLeft(guildId, userId);
  return renderHistory(onPage, context.clock.now(), {
    userId,
    page: shown,
    hasNext: tasks.length > start + HISTORY_PAGE_SIZE,
    locale,
    ...(quotaLeft ? { quotaLeft } : {}),
  });
}

async function history(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
  if (!interaction.guildId) throw new UserFacingError('NOT_IN_GUILD', 'error.historyNotInGuild');
  const body = await historyPage(context, interaction.guildId, interaction.user.id, 0, interaction.locale);
  await interaction.reply({ ...body, flags: MessageFlags.Ephemeral });
}

/** Previous/Next under a history page (`sora:history:<member id>:<page>`): only that member may page. */
export async function pageHistory(interaction: ButtonInteraction, context: CommandContext, args: readonly string[]): Promise<void> {
  const [userId, page] = args;
  if (userId !== interaction.user.id) throw new UserFacingError('NOT_YOURS', 'error.historyNotYours');
  if (!interaction.guildId) throw new UserFacingError('NOT_IN_GUILD', 'error.historyNotInGuild');
  const pageNumber = Number(page);
  if (!Number.isInteger(pageNumber) || pageNumber < 0) throw new UserFacingError('OPTION_INVALID', 'error.optionUnknown');
  await interaction.deferUpdate();
  await interaction.editReply(await historyPage(context, interaction.guildId, userId, pageNumber, interaction.locale));
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
  data: localizeCommand(data.toJSON()),
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
        throw new UserFacingError('OPTION_INVALID', 'error.unknownSubcommand');
    }
  },
  autocomplete,
};
