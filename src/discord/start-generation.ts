import { MessageFlags, type ButtonInteraction, type ChatInputCommandInteraction, type ModalSubmitInteraction } from 'discord.js';
import { preflightGenerate, type GenerateCommandInput } from '../core/preflight.js';
import { guildPreflightRules } from '../settings/guild-settings.js';
import { usableImageUrl } from './attachment-urls.js';
import type { CommandContext } from './command.js';
import { memberRoleIds, toBotPermissions } from './permissions.js';
import { renderProgress } from './render.js';

// An interaction token lives 15 minutes; stop editing the reply a little before that.
const INTERACTION_TOKEN_TTL_MS = 14 * 60_000;
// Bots may upload 10 MiB in an unboosted guild; interactions normally tell the real limit.
const DEFAULT_UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024;

/** Interactions a generation can start from: the slash command, Regenerate, and the prompt modals. */
export type GenerationInteraction = ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction;

/** What the member asked for, before preflight (option values as typed; null = default). */
export type GenerationAsk = Pick<GenerateCommandInput, 'prompt' | 'model' | 'duration' | 'orientation' | 'size' | 'attachment'>;

/**
 * Preflights with the guild's rules, acknowledges ephemerally, starts the task and shows its queue
 * position and what is left of the member's daily quota. A refusal (preflight here; quota, cooldown
 * or budget in the core) costs nothing and stores nothing; it is thrown as a UserFacingError.
 */
export async function preflightAndStart(interaction: GenerationInteraction, context: CommandContext, ask: GenerationAsk): Promise<void> {
  // Settings are held in memory after start-up, so reading them here does not risk the 3 s deadline.
  const settings = interaction.guildId ? await context.settings.get(interaction.guildId) : undefined;
  const channel = interaction.channel;
  const preflight = preflightGenerate(
    {
      ...ask,
      guildId: interaction.guildId,
      channelId: interaction.channelId ?? undefined,
      parentChannelId: channel?.isThread() ? channel.parentId : null,
      memberRoleIds: memberRoleIds(interaction.member),
      channelIsThread: channel?.isThread() ?? false,
      botPermissions: toBotPermissions(interaction.appPermissions),
    },
    settings ? guildPreflightRules(context.preflightRules, settings) : context.preflightRules,
  );
  if (!preflight.ok) throw preflight.error;

  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const request = preflight.request;
  if (request.imageUrl) request.imageUrl = await usableImageUrl(request.imageUrl, context.clock.now(), context.discord);
  const now = context.clock.now();
  const enqueued = await context.generation.start({
    guildId: interaction.guildId!,
    channelId: interaction.channelId!,
    userId: interaction.user.id,
    request,
    uploadLimitBytes: interaction.attachmentSizeLimit ?? DEFAULT_UPLOAD_LIMIT_BYTES,
    locale: interaction.guildLocale ?? interaction.locale,
    memberLocale: interaction.locale,
    interaction: {
      applicationId: interaction.applicationId,
      token: interaction.token,
      expiresAt: new Date(now.getTime() + INTERACTION_TOKEN_TTL_MS).toISOString(),
    },
  });
  const view = enqueued.accountProblem
    ? ({ kind: 'account_problem' } as const)
    : ({ kind: 'queued', position: enqueued.position, providerBusy: false } as const);
  await interaction.editReply(renderProgress(view, enqueued.task, now, enqueued.quotaLeft ? { quotaLeft: enqueued.quotaLeft } : {}));
}
