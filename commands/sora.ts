import {
  MessageFlags,
  SlashCommandBuilder,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { ORIENTATIONS, type TaskState } from '../src/core/task.js';
import { UserFacingError } from '../src/core/user-facing-error.js';
import type { CommandContext, SlashCommand } from '../src/discord/command.js';
import { localizeCommand } from '../src/discord/command-localizations.js';
import { HISTORY_PAGE_SIZE, renderHistory, type HistoryBody } from '../src/discord/render-history.js';
import { ephemeralReplyOptions, renderStatus } from '../src/discord/render.js';
import { describeCancel } from './result-buttons.js';
import { generationRulesFor, preflightAndStart } from '../src/discord/start-generation.js';
import { suggestModelOptions, type SuggestedOption } from '../src/discord/model-suggestions.js';

const CANCELLABLE: ReadonlySet<TaskState> = new Set<TaskState>(['queued', 'submitted', 'timed_out']);

const data = new SlashCommandBuilder()
  .setName('sora')
  .setDescription('Make AI videos (Veo, Kling, Seedance, Sora and more)')
  .setDMPermission(false)
  .addSubcommand((sub) =>
    sub
      .setName('generate')
      .setDescription('Generate a video from a text prompt (and optionally an image)')
      .addStringOption((o) => o.setName('prompt').setDescription('What the video should show').setRequired(true).setMaxLength(4000))
      .addAttachmentOption((o) => o.setName('image').setDescription('A reference image or first frame (PNG, JPEG, WebP or GIF)'))
      // Choices are fixed at registration and capped at 25, while the models and their values come
      // from the catalogue and each server's list: autocomplete offers what the chosen model allows,
      // and preflight checks whatever is typed before any spend.
      .addStringOption((o) =>
        o
          .setName('model')
          .setDescription('The video model (start typing: the server’s models are listed)')
          .setAutocomplete(true)
          .setMaxLength(64),
      )
      .addIntegerOption((o) =>
        o.setName('duration').setDescription('Length in seconds (the values the chosen model allows are listed)').setAutocomplete(true),
      )
      .addStringOption((o) =>
        o
          .setName('orientation')
          .setDescription('landscape (16:9), portrait (9:16) or square (1:1), where the model takes it')
          .addChoices(...ORIENTATIONS.map((v) => ({ name: v, value: v }))),
      )
      .addStringOption((o) =>
        o
          .setName('size')
          .setDescription('Quality or resolution (the values the chosen model allows are listed)')
          .setAutocomplete(true)
          .setMaxLength(32),
      )
      .addAttachmentOption((o) => o.setName('image2').setDescription('A second reference image, for models that take several'))
      .addAttachmentOption((o) => o.setName('image3').setDescription('A third reference image, for models that take several'))
      .addAttachmentOption((o) => o.setName('end_image').setDescription('The last frame, for models that take one (Kling, Seedance, Luma)'))
      .addStringOption((o) =>
        o.setName('avoid').setDescription('What the video should avoid (negative prompt; Kling and Wan)').setMaxLength(500),
      )
      .addAttachmentOption((o) => o.setName('character').setDescription('Sora: a short video (MP4) of the character to reuse'))
      .addIntegerOption((o) =>
        o
          .setName('character_start')
          .setDescription('Sora: the second where the character appears in that video')
          .setMinValue(0)
          .setMaxValue(600),
      )
      .addIntegerOption((o) =>
        o
          .setName('character_end')
          .setDescription('Sora: the second where it ends (1 to 3 s after the start)')
          .setMinValue(1)
          .setMaxValue(603),
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
      .addStringOption((o) => o.setName('task').setDescription('The task id').setRequired(true).setAutocomplete(true)),
  )
  .addSubcommand((sub) => sub.setName('history').setDescription('Your recent generations in this server'));

async function generate(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
  const attachmentOf = (name: string) => {
    const attachment = interaction.options.getAttachment(name);
    return attachment ? { name: attachment.name, contentType: attachment.contentType, size: attachment.size, url: attachment.url } : null;
  };
  const extraAttachments = [attachmentOf('image2'), attachmentOf('image3')].filter((a) => a !== null);
  await preflightAndStart(interaction, context, {
    prompt: interaction.options.getString('prompt', true),
    model: interaction.options.getString('model'),
    duration: interaction.options.getInteger('duration'),
    orientation: interaction.options.getString('orientation'),
    size: interaction.options.getString('size'),
    attachment: attachmentOf('image'),
    extraAttachments,
    endAttachment: attachmentOf('end_image'),
    negativePrompt: interaction.options.getString('avoid'),
    characterVideo: attachmentOf('character'),
    characterStart: interaction.options.getInteger('character_start'),
    characterEnd: interaction.options.getInteger('character_end'),
  });
}

async function cancel(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
  const id = interaction.options.getString('task', true);
  const content = describeCancel(
    await context.generation.cancel(interaction.guildId ?? '', id, interaction.user.id),
    id,
    interaction.locale,
  );
  await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
}

async function status(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
  const id = interaction.options.getString('task', true);
  const task = interaction.guildId ? await context.generation.find(interaction.guildId, id) : undefined;
  if (!task) {
    throw new UserFacingError('TASK_NOT_FOUND', 'error.taskNotFound', { id: id.slice(0, 40).replace(/`/g, '') });
  }
  await interaction.reply({
    ...ephemeralReplyOptions(renderStatus(task, context.clock.now(), context.generation.positionOf(task.id), interaction.locale)),
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
  await interaction.reply({ ...ephemeralReplyOptions(body), flags: MessageFlags.Ephemeral });
}

/** Previous/Next under a history page (`sora:history:<member id>:<page>`): only that member may page. */
export async function pageHistory(interaction: ButtonInteraction, context: CommandContext, args: readonly string[]): Promise<void> {
  const [userId, page] = args;
  if (userId !== interaction.user.id) throw new UserFacingError('NOT_YOURS', 'error.historyNotYours');
  if (!interaction.guildId) throw new UserFacingError('NOT_IN_GUILD', 'error.historyNotInGuild');
  const pageNumber = Number(page);
  if (!Number.isInteger(pageNumber) || pageNumber < 0) throw new UserFacingError('OPTION_INVALID', 'error.optionUnknown');
  await interaction.deferUpdate();
  await interaction.editReply(
    ephemeralReplyOptions(await historyPage(context, interaction.guildId, userId, pageNumber, interaction.locale)),
  );
}

/** The generate options that autocomplete: each lists what the server offers and the chosen model takes. */
const SUGGESTED_OPTIONS: ReadonlySet<string> = new Set<SuggestedOption>(['model', 'duration', 'size']);

async function autocomplete(interaction: AutocompleteInteraction, context: CommandContext): Promise<void> {
  if (!interaction.guildId) return interaction.respond([]);
  const focused = interaction.options.getFocused(true);
  if (SUGGESTED_OPTIONS.has(focused.name)) {
    // Settings are held in memory: no I/O before the 3 s deadline.
    const rules = await generationRulesFor(context, interaction.guildId);
    return interaction.respond(
      suggestModelOptions(
        focused.name as SuggestedOption,
        String(focused.value),
        interaction.options.getString('model'),
        rules,
        interaction.locale,
      ),
    );
  }
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
