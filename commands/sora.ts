import {
  MessageFlags,
  SlashCommandBuilder,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { preflightGenerate } from '../src/core/preflight.js';
import { DURATIONS, MODELS, ORIENTATIONS, SIZES } from '../src/core/task.js';
import { UserFacingError } from '../src/core/user-facing-error.js';
import type { CommandContext, SlashCommand } from '../src/discord/command.js';
import { memberRoleIds, toBotPermissions } from '../src/discord/permissions.js';
import { renderHistory } from '../src/discord/render-history.js';
import { renderProgress, renderStatus } from '../src/discord/render.js';
import { guildPreflightRules } from '../src/settings/guild-settings.js';

// An interaction token lives 15 minutes; stop editing the reply a little before that.
const INTERACTION_TOKEN_TTL_MS = 14 * 60_000;
// Bots may upload 10 MiB in an unboosted guild; interactions normally tell the real limit.
const DEFAULT_UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024;
const HISTORY_SIZE = 10;

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
  .addSubcommand((sub) => sub.setName('history').setDescription('Your recent generations in this server'));

async function generate(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void> {
  const attachment = interaction.options.getAttachment('image');
  // Settings are held in memory after start-up, so reading them here does not risk the 3 s deadline.
  const settings = interaction.guildId ? await context.settings.get(interaction.guildId) : undefined;
  const channel = interaction.channel;
  // Everything checkable is checked before the acknowledgement, so a refusal costs nothing.
  const preflight = preflightGenerate(
    {
      guildId: interaction.guildId,
      channelId: interaction.channelId,
      parentChannelId: channel?.isThread() ? channel.parentId : null,
      memberRoleIds: memberRoleIds(interaction.member),
      channelIsThread: channel?.isThread() ?? false,
      botPermissions: toBotPermissions(interaction.appPermissions),
      prompt: interaction.options.getString('prompt', true),
      model: interaction.options.getString('model'),
      duration: interaction.options.getInteger('duration'),
      orientation: interaction.options.getString('orientation'),
      size: interaction.options.getString('size'),
      attachment: attachment
        ? { name: attachment.name, contentType: attachment.contentType, size: attachment.size, url: attachment.url }
        : null,
    },
    settings ? guildPreflightRules(context.preflightRules, settings) : context.preflightRules,
  );
  if (!preflight.ok) throw preflight.error;

  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const now = context.clock.now();
  const enqueued = await context.generation.start({
    guildId: interaction.guildId!,
    channelId: interaction.channelId,
    userId: interaction.user.id,
    request: preflight.request,
    uploadLimitBytes: interaction.attachmentSizeLimit ?? DEFAULT_UPLOAD_LIMIT_BYTES,
    locale: interaction.guildLocale ?? interaction.locale,
    interaction: {
      applicationId: interaction.applicationId,
      token: interaction.token,
      expiresAt: new Date(now.getTime() + INTERACTION_TOKEN_TTL_MS).toISOString(),
    },
  });
  const view = enqueued.accountProblem
    ? ({ kind: 'account_problem' } as const)
    : ({ kind: 'queued', position: enqueued.position, providerBusy: false } as const);
  await interaction.editReply(renderProgress(view, enqueued.task, now));
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
  const tasks = await context.generation.history(interaction.guildId, interaction.user.id, 25);
  // Autocomplete must be answered within 3 s and cannot be deferred; the store read is local.
  await interaction.respond(
    tasks
      .filter((t) => t.id.includes(typed) || t.request.prompt.toLowerCase().includes(typed))
      .slice(0, 25)
      .map((t) => ({ name: `${t.id} · ${t.state} · ${t.request.prompt}`.slice(0, 100), value: t.id })),
  );
}

/** `/sora generate | status | history`. */
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
      default:
        throw new UserFacingError('OPTION_INVALID', 'Unknown subcommand.');
    }
  },
  autocomplete,
};
