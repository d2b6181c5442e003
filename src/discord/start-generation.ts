import { MessageFlags, type ButtonInteraction, type ChatInputCommandInteraction, type ModalSubmitInteraction } from 'discord.js';
import type { Enqueued } from '../core/generation-service.js';
import { findModel } from '../core/models/catalogue.js';
import { preflightGenerate, type GenerateCommandInput, type PreflightRules } from '../core/preflight.js';
import type { GenerationRequest } from '../core/task.js';
import { UserFacingError } from '../core/user-facing-error.js';
import { t } from '../i18n/index.js';
import { guildPreflightRules } from '../settings/guild-settings.js';
import { usableImageUrl } from './attachment-urls.js';
import type { CommandContext } from './command.js';
import { fitReferenceImage, fitTarget } from './fit-reference-image.js';
import { memberRoleIds, toBotPermissions } from './permissions.js';
import { ephemeralReplyOptions, renderProgress } from './render.js';
import { uploadLimitOf } from './upload-limit.js';

// An interaction token lives 15 minutes; stop editing the reply a little before that.
const INTERACTION_TOKEN_TTL_MS = 14 * 60_000;
// Discord drops an interaction not acknowledged within 3 s of its creation.
const ANSWER_WITHIN_MS = 1_500;

/** Interactions a generation can start from: the slash command, Regenerate, and the prompt modals. */
export type GenerationInteraction = ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction;

/** What the member asked for, before preflight (option values as typed; null = default). */
export type GenerationAsk = Pick<
  GenerateCommandInput,
  | 'prompt'
  | 'model'
  | 'duration'
  | 'orientation'
  | 'size'
  | 'attachment'
  | 'extraAttachments'
  | 'endAttachment'
  | 'negativePrompt'
  | 'characterVideo'
  | 'characterStart'
  | 'characterEnd'
>;

/**
 * The rules a command in this guild runs under: the operator's, the guild's settings on top, and the
 * models Ace Data Cloud does not serve right now. Settings are in memory: no I/O on the 3 s path.
 */
export async function generationRulesFor(context: CommandContext, guildId: string | null): Promise<PreflightRules> {
  const settings = guildId ? await context.settings.get(guildId) : undefined;
  const rules = settings ? guildPreflightRules(context.preflightRules, settings) : context.preflightRules;
  const unavailable = context.modelAvailability?.unavailableAmong(rules.offeredModelIds);
  return unavailable && unavailable.size > 0 ? { ...rules, unavailableModelIds: unavailable } : rules;
}

/**
 * Preflights with the guild's rules, acknowledges ephemerally, starts the task and shows its queue
 * position and what is left of the member's daily quota. A refusal (preflight here; quota, cooldown
 * or budget in the core) costs nothing and stores nothing; it is thrown as a UserFacingError.
 */
export async function preflightAndStart(
  interaction: GenerationInteraction,
  context: CommandContext,
  ask: GenerationAsk,
  /** `notice`: a line the command adds to the first reply (e.g. which images were used). */
  options: { notice?: string } = {},
): Promise<void> {
  const rules = await generationRulesFor(context, interaction.guildId);
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
    rules,
  );
  if (!preflight.ok) throw preflight.error;

  const request = preflight.request;
  // Images may need network work (renewed URLs, a fitted Sora v2 reference): acknowledge first.
  if (carriesMedia(request)) await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  // Signed attachment URLs may have aged (Regenerate, Animate): renew each before it is stored.
  const renew = (url: string) => usableImageUrl(url, context.clock.now(), context.discord);
  if (request.imageUrl) request.imageUrl = await renew(request.imageUrl);
  if (request.extraImageUrls) request.extraImageUrls = await Promise.all(request.extraImageUrls.map(renew));
  if (request.endImageUrl) request.endImageUrl = await renew(request.endImageUrl);
  if (request.character) request.character = { ...request.character, videoUrl: await renew(request.character.videoUrl) };
  if (request.imageUrl && findModel(request.model)?.soraVersion === '2.0') {
    request.imageUrl = await soraV2ImageUrl(interaction, context, request, request.imageUrl);
  }
  const now = context.clock.now();
  let answered!: () => void;
  const answerShown = new Promise<void>((resolve) => (answered = resolve));
  const starting = context.generation.start({
    guildId: interaction.guildId!,
    channelId: interaction.channelId!,
    userId: interaction.user.id,
    request,
    uploadLimitBytes: uploadLimitOf(interaction),
    locale: interaction.guildLocale ?? interaction.locale,
    memberLocale: interaction.locale,
    interaction: {
      applicationId: interaction.applicationId,
      token: interaction.token,
      expiresAt: new Date(now.getTime() + INTERACTION_TOKEN_TTL_MS).toISOString(),
    },
    answerShown,
  });
  try {
    await answerWithPosition(interaction, context, starting, options);
  } finally {
    answered();
  }
}

/** Answers (or defers, then edits in) the queue position and what is left of the member's quota. */
async function answerWithPosition(
  interaction: GenerationInteraction,
  context: CommandContext,
  starting: Promise<Enqueued>,
  options: { notice?: string },
): Promise<void> {
  // The answer itself acknowledges the command when the ledger write is quick (the usual case): the
  // member sees the position at once and no reply edit is spent. A slow store gets a deferral in time.
  if (!interaction.deferred && !(await settlesWithin(starting, answerBudgetMs(interaction, context.clock.now())))) {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  }
  const enqueued = await starting;
  const now = context.clock.now();
  const view = enqueued.accountProblem
    ? ({ kind: 'account_problem' } as const)
    : ({ kind: 'queued', position: enqueued.position, providerBusy: false, ...(enqueued.eta ? { eta: enqueued.eta } : {}) } as const);
  const progress = renderProgress(view, enqueued.task, now, {
    ...(enqueued.quotaLeft ? { quotaLeft: enqueued.quotaLeft } : {}),
    ...(options.notice ? { notice: options.notice } : {}),
  });
  if (interaction.deferred) await interaction.editReply(ephemeralReplyOptions(progress));
  else await interaction.reply({ ...ephemeralReplyOptions(progress), flags: MessageFlags.Ephemeral });
}

/** Whether the request carries media whose URLs are checked, renewed or fitted before the task is stored. */
function carriesMedia(request: GenerationRequest): boolean {
  return Boolean(request.imageUrl || request.extraImageUrls?.length || request.endImageUrl || request.character);
}

/**
 * How long the command may wait for its task to be stored and still answer directly: until
 * {@link ANSWER_WITHIN_MS} after Discord created the interaction, which leaves the rest of Discord's
 * 3 s for the deferral to arrive. Counted from the interaction's creation, so a command that waited
 * in a busy process does not wait again.
 */
function answerBudgetMs(interaction: GenerationInteraction, now: Date): number {
  const createdAt = Number.isFinite(interaction.createdTimestamp) ? interaction.createdTimestamp : now.getTime();
  return Math.max(0, Math.min(ANSWER_WITHIN_MS, createdAt + ANSWER_WITHIN_MS - now.getTime()));
}

/** Resolves true when `work` settles (fulfilled or rejected) within `ms`, false otherwise; never rejects. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  if (ms <= 0) return false;
  let timer: NodeJS.Timeout | undefined;
  const settled = work.then(
    () => true,
    () => true,
  );
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sora v2 takes one reference image whose pixel size must equal `size` (docs/acedata-contract.md §2.2): the
 * image is fitted to it and re-hosted as an attachment of an ephemeral follow-up, whose URL goes to
 * the provider instead. Any failure refuses before a task exists, so nothing is spent.
 */
async function soraV2ImageUrl(
  interaction: GenerationInteraction,
  context: CommandContext,
  request: GenerationRequest,
  imageUrl: string,
): Promise<string> {
  const spec = findModel(request.model);
  const target = fitTarget(request.size ?? spec?.defaultSize);
  if (!target) return imageUrl;
  const size = `${target.width}×${target.height}`;
  const model = request.model;
  const log = context.logger.child({ interactionId: interaction.id, model });
  const fitted = await fitReferenceImage(imageUrl, target, { maxBytes: context.preflightRules.imageMaxBytes });
  if (!fitted.ok) {
    log.info({ reason: fitted.reason, ...('detail' in fitted ? { detail: fitted.detail } : {}) }, 'reference image not fitted');
    switch (fitted.reason) {
      case 'too_large':
        throw new UserFacingError('ATTACHMENT_TOO_LARGE', 'error.referenceImageTooLarge', { max: formatMegabytes(fitted.maxBytes) });
      case 'too_many_pixels':
        throw new UserFacingError('ATTACHMENT_TOO_LARGE', 'error.referenceImageTooManyPixels', {
          max: fitted.maxPixels.toLocaleString('en-US'),
        });
      case 'not_an_image':
        throw new UserFacingError('ATTACHMENT_NOT_IMAGE', 'error.referenceImageNotDecodable');
      case 'download_failed':
        throw new UserFacingError('NOT_AVAILABLE', 'error.referenceImageDownload', { size, model });
    }
  }
  if (fitted.image.kind === 'as_is') return imageUrl;
  const locale = interaction.locale;
  try {
    // Discord turns the first follow-up after a deferral into the deferred reply itself; edit that
    // first so the image gets a message of its own, which later progress edits never touch.
    await interaction.editReply({ content: t(locale, 'referenceImage.fitting', { size, model }) });
    const message = await interaction.followUp({
      content: t(locale, 'referenceImage.fitted', { size, model }),
      files: [{ attachment: fitted.image.data, name: `reference-${target.width}x${target.height}.${fitted.image.extension}` }],
      flags: MessageFlags.Ephemeral,
      allowedMentions: { parse: [] },
    });
    const url = message.attachments.first()?.url;
    if (!url) throw new Error('the follow-up came back without its attachment');
    return url;
  } catch (err) {
    log.warn({ err }, 'fitted reference image not uploaded');
    throw new UserFacingError('NOT_AVAILABLE', 'error.referenceImageUpload', { size, model });
  }
}

function formatMegabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
