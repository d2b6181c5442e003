import {
  ComponentType,
  MessageFlags,
  PermissionFlagsBits,
  TextInputStyle,
  type ButtonInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import type { CancelOutcome } from '../src/core/generation-service.js';
import type { Task } from '../src/core/task.js';
import { UserFacingError } from '../src/core/user-facing-error.js';
import type { CommandContext, ShareOutcome } from '../src/discord/command.js';
import { customId, PROMPT_FIELD_ID } from '../src/discord/custom-ids.js';
import { cancelledText, cutToFit } from '../src/discord/render.js';
import { stateLabel } from '../src/discord/render-history.js';
import { t } from '../src/i18n/index.js';
import { preflightAndStart, type GenerationAsk } from '../src/discord/start-generation.js';

// Discord's limit on a modal text input; PROMPT_MAX_CHARS may be lower, and the modal says so by its limit.
const MODAL_PROMPT_MAX = 4000;

/** The member's answer to a cancel, by outcome. */
export function describeCancel(outcome: CancelOutcome, id: string, locale?: string | null): string {
  const shownId = `\`${id.slice(0, 40).replace(/`/g, '')}\``;
  switch (outcome.kind) {
    case 'not_found':
      return t(locale, 'cancel.notFound', { id: shownId });
    case 'not_yours':
      return t(locale, 'cancel.notYours');
    case 'too_late':
      return t(locale, 'cancel.tooLate', { id: outcome.task.id, state: stateLabel(outcome.task, locale) });
    case 'cancelled':
      return cancelledText(outcome.task, locale);
  }
}

/** A task of this guild by the id in a custom id; a task the store no longer has is refused plainly. */
async function taskOf(
  interaction: ButtonInteraction | ModalSubmitInteraction,
  context: CommandContext,
  taskId: string | undefined,
): Promise<Task> {
  const task = interaction.guildId && taskId ? await context.generation.find(interaction.guildId, taskId) : undefined;
  if (!task) throw new UserFacingError('TASK_NOT_FOUND', 'error.videoUnknown');
  return task;
}

/** The request of an earlier task as a fresh ask, so it goes through preflight (and the guild's rules) again. */
function askFrom(task: Task, prompt = task.request.prompt): GenerationAsk {
  const { model, duration, orientation, size, imageUrl, extraImageUrls, endImageUrl, negativePrompt, character } = task.request;
  return {
    prompt,
    model,
    duration: duration ?? null,
    orientation: orientation ?? null,
    size: size ?? null,
    attachment: imageUrl ? checkedImage(imageUrl) : null,
    extraAttachments: (extraImageUrls ?? []).map(checkedImage),
    endAttachment: endImageUrl ? checkedImage(endImageUrl) : null,
    negativePrompt: negativePrompt ?? null,
    characterVideo: character
      ? { name: fileNameOf(character.videoUrl, 'character.mp4'), contentType: 'video/mp4', size: 0, url: character.videoUrl }
      : null,
    characterStart: character?.startSeconds ?? null,
    characterEnd: character?.endSeconds ?? null,
  };
}

// Checked as an image when first asked; size 0: it is not downloaded by the bot.
function checkedImage(url: string): NonNullable<GenerationAsk['attachment']> {
  return { name: fileNameOf(url), contentType: null, size: 0, url };
}

/**
 * The same prompt (and images) on the server's default model, for a task whose model is not served.
 * The model's own options are left to the default model's defaults: they may not exist there.
 */
function askOnDefaultModel(task: Task): GenerationAsk {
  const ask = askFrom(task);
  return {
    ...ask,
    model: null,
    duration: null,
    orientation: null,
    size: null,
    negativePrompt: null,
    characterVideo: null,
    characterStart: null,
    characterEnd: null,
  };
}

function fileNameOf(url: string, fallback = 'image.png'): string {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').at(-1) ?? '') || fallback;
  } catch {
    return fallback;
  }
}

/** Regenerate: the same options as a new task, counted against the presser's quota and the guild's budget. */
async function regenerate(interaction: ButtonInteraction, context: CommandContext, taskId: string | undefined): Promise<void> {
  const task = await taskOf(interaction, context, taskId);
  await preflightAndStart(interaction, context, askFrom(task));
}

/** "Run on the server's default model" under a result whose model is not served: only its member may. */
async function switchModel(interaction: ButtonInteraction, context: CommandContext, taskId: string | undefined): Promise<void> {
  const task = await taskOf(interaction, context, taskId);
  if (task.userId !== interaction.user.id) throw new UserFacingError('NOT_YOURS', 'error.switchNotYours');
  await preflightAndStart(interaction, context, askOnDefaultModel(task));
}

/** Remix: a modal with the prompt filled in; modals cannot be deferred, so it is shown at once. */
async function showRemixModal(interaction: ButtonInteraction, context: CommandContext, taskId: string | undefined): Promise<void> {
  const task = await taskOf(interaction, context, taskId);
  await interaction.showModal({
    custom_id: customId('remix-modal', task.id),
    title: t(interaction.locale, 'modal.remixTitle'),
    components: [
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.TextInput,
            custom_id: PROMPT_FIELD_ID,
            label: t(interaction.locale, 'modal.remixPrompt'),
            placeholder: t(interaction.locale, 'modal.remixPlaceholder'),
            style: TextInputStyle.Paragraph,
            // Cut between graphemes: never half an emoji (a lone surrogate is not valid text).
            value: cutToFit(task.request.prompt, Math.min(MODAL_PROMPT_MAX, context.preflightRules.promptMaxChars)),
            max_length: Math.min(MODAL_PROMPT_MAX, context.preflightRules.promptMaxChars),
            required: true,
          },
        ],
      },
    ],
  });
}

async function submitRemix(interaction: ModalSubmitInteraction, context: CommandContext, taskId: string | undefined): Promise<void> {
  const prompt = interaction.fields.getTextInputValue(PROMPT_FIELD_ID).trim();
  if (prompt === '') throw new UserFacingError('PROMPT_EMPTY', 'error.promptEmptyModal');
  const task = await taskOf(interaction, context, taskId);
  await preflightAndStart(interaction, context, askFrom(task, prompt));
}

/** Delete: the requester, or members who may manage messages. */
async function deleteResult(interaction: ButtonInteraction, context: CommandContext, taskId: string | undefined): Promise<void> {
  const task = await taskOf(interaction, context, taskId);
  const moderator = interaction.memberPermissions?.has(PermissionFlagsBits.ManageMessages) ?? false;
  if (task.userId !== interaction.user.id && !moderator) {
    throw new UserFacingError('NOT_YOURS', 'error.deleteNotYours');
  }
  if (!context.discord) throw new UserFacingError('NOT_AVAILABLE', 'error.deleteUnavailable');
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  await context.discord.deleteMessage(interaction.channelId, interaction.message.id);
  context.logger.info({ taskId: task.id, guildId: task.guildId, by: interaction.user.id }, 'result message deleted');
  await interaction.editReply({ content: t(interaction.locale, 'delete.done') });
}

function describeShare(outcome: ShareOutcome, locale: string): string {
  switch (outcome.kind) {
    case 'shared':
      return t(locale, 'share.shared', { channel: `<#${outcome.channelId}>` });
    case 'already_shared':
      return t(locale, 'share.alreadyShared', { channel: `<#${outcome.channelId}>` });
    case 'no_channel':
      return t(locale, 'share.noChannel');
    case 'not_a_video':
      return t(locale, 'share.notAVideo');
    case 'failed':
      return t(locale, 'share.failed', { reason: outcome.reason });
  }
}

/** Share: only the member who asked; the showcase remembers what it shared. */
async function share(interaction: ButtonInteraction, context: CommandContext, taskId: string | undefined): Promise<void> {
  const task = await taskOf(interaction, context, taskId);
  if (task.userId !== interaction.user.id) {
    throw new UserFacingError('NOT_YOURS', 'error.shareNotYours');
  }
  if (!context.showcase) throw new UserFacingError('NOT_AVAILABLE', 'error.shareUnavailable');
  // The upload may take longer than the 3 s an answer may take.
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const outcome = await context.showcase.share(task);
  await interaction.editReply({ content: describeShare(outcome, interaction.locale), allowedMentions: { parse: [] } });
}

/** Cancel on the member's ephemeral progress reply. */
async function cancelFromButton(interaction: ButtonInteraction, context: CommandContext, taskId: string | undefined): Promise<void> {
  const task = await taskOf(interaction, context, taskId);
  if (task.userId !== interaction.user.id) {
    throw new UserFacingError('NOT_YOURS', 'error.cancelNotYours');
  }
  await interaction.deferUpdate();
  const outcome = await context.generation.cancel(task.guildId, task.id, interaction.user.id);
  await interaction.editReply({
    content: describeCancel(outcome, task.id, interaction.locale),
    components: [],
    allowedMentions: { parse: [] },
  });
}

/** Buttons under results and progress replies, by action. */
export const resultButtonHandlers: Record<
  string,
  (interaction: ButtonInteraction, context: CommandContext, taskId: string | undefined) => Promise<void>
> = {
  regen: regenerate,
  remix: showRemixModal,
  delete: deleteResult,
  share,
  cancel: cancelFromButton,
  'switch-model': switchModel,
};

/** Submits of the Remix modal. */
export const remixModalHandler = submitRemix;
