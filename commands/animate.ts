import {
  ApplicationCommandType,
  ComponentType,
  ContextMenuCommandBuilder,
  PermissionFlagsBits,
  TextInputStyle,
  type APIAttachment,
  type Attachment,
  type ModalSubmitInteraction,
} from 'discord.js';
import { UserFacingError } from '../src/core/user-facing-error.js';
import type { CommandContext, MessageCommand } from '../src/discord/command.js';
import { localizationsOf } from '../src/discord/command-localizations.js';
import { customId, PROMPT_FIELD_ID } from '../src/discord/custom-ids.js';
import { t } from '../src/i18n/index.js';
import { generationRulesFor, preflightAndStart } from '../src/discord/start-generation.js';
import { modelFor } from '../src/core/preflight.js';

const IMAGE_TYPES = /^image\/(png|jpeg|webp|gif)\b/i;
const IMAGE_NAMES = /\.(png|jpe?g|webp|gif)$/i;
// Discord's limit on a modal text input; PROMPT_MAX_CHARS may be lower, and the modal says so by its limit.
const MODAL_PROMPT_MAX = 4000;

const READ_PERMISSIONS = [
  [PermissionFlagsBits.ViewChannel, 'perm.ViewChannel'],
  [PermissionFlagsBits.ReadMessageHistory, 'perm.ReadMessageHistory'],
] as const;

type AnyAttachment = Pick<Attachment, 'name' | 'contentType' | 'size' | 'url'>;

/** The PNG, JPEG, WebP and GIF attachments of a message, in its order (anything else is skipped). */
export function messageImages(attachments: Iterable<AnyAttachment>): AnyAttachment[] {
  return [...attachments].filter((a) => (a.contentType ? IMAGE_TYPES.test(a.contentType) : IMAGE_NAMES.test(a.name)));
}

/** The images a model takes from a message: the first `max` (at least the first, so preflight can judge it). */
export function imagesForModel(images: readonly AnyAttachment[], max: number): { used: AnyAttachment[]; capped: boolean } {
  const used = images.slice(0, Math.max(1, max));
  return { used, capped: used.length < images.length };
}

/** "Animate with Sora": a message context-menu command that opens a modal for the prompt. */
export const animateCommand: MessageCommand = {
  data: new ContextMenuCommandBuilder()
    // Message command names may hold spaces and capitals; the English name is also the one routed on.
    .setName('Animate with Sora')
    .setNameLocalizations(localizationsOf('menu.animate'))
    .setType(ApplicationCommandType.Message)
    .setDMPermission(false)
    .toJSON(),
  async execute(interaction, context) {
    const message = interaction.targetMessage;
    if (messageImages(message.attachments.values()).length === 0) throw new UserFacingError('NO_IMAGE', 'error.noImage');
    // The image URL is too long for a custom id; the message is read again when the modal comes back.
    await interaction.showModal({
      custom_id: customId('animate-modal', message.channelId, message.id),
      title: t(interaction.locale, 'modal.animateTitle'),
      components: [
        {
          type: ComponentType.ActionRow,
          components: [
            {
              type: ComponentType.TextInput,
              custom_id: PROMPT_FIELD_ID,
              label: t(interaction.locale, 'modal.animatePrompt'),
              placeholder: t(interaction.locale, 'modal.animatePlaceholder'),
              style: TextInputStyle.Paragraph,
              max_length: Math.min(MODAL_PROMPT_MAX, context.preflightRules.promptMaxChars),
              required: true,
            },
          ],
        },
      ],
    });
  },
};

/**
 * The prompt modal of "Animate with Sora": an image-to-video generation from that message's images,
 * as many as the model takes (each checked by preflight like `/sora generate`'s); the member is told
 * when the message had more.
 */
export async function submitAnimateModal(interaction: ModalSubmitInteraction, context: CommandContext, args: string[]): Promise<void> {
  const [channelId, messageId] = args;
  const prompt = interaction.fields.getTextInputValue(PROMPT_FIELD_ID).trim();
  if (prompt === '') throw new UserFacingError('PROMPT_EMPTY', 'error.promptEmptyModal');
  if (!channelId || !messageId || !context.discord) throw new UserFacingError('NOT_AVAILABLE', 'error.animateUnavailable');
  // Without these the fetch below fails like a deleted message would; say what is really missing.
  const unreadable = READ_PERMISSIONS.filter(([flag]) => interaction.appPermissions?.has(flag) === false);
  if (unreadable.length > 0) {
    throw new UserFacingError('MISSING_PERMISSIONS', 'error.missingPermissions', {}, { permissions: unreadable.map(([, key]) => key) });
  }
  // Fetched afresh: the message's URLs are newly signed, and a message deleted meanwhile is noticed here.
  const message = await context.discord.fetchMessage(channelId, messageId);
  const images = message ? messageImages(message.attachments.map(fromApi)) : [];
  if (images.length === 0) {
    throw new UserFacingError('NO_IMAGE', 'error.imageGone');
  }
  // The model preflight will choose (the guild's default): a model it refuses keeps one image, and preflight says why.
  const model = modelFor(null, await generationRulesFor(context, interaction.guildId));
  const { used, capped } = imagesForModel(images, model?.images.max ?? 1);
  const [first, ...extra] = used;
  const notice =
    capped && model
      ? t(interaction.locale, 'animate.imagesCapped', { model: model.displayName, max: used.length, count: images.length })
      : undefined;
  await preflightAndStart(interaction, context, { prompt, attachment: first!, extraAttachments: extra }, notice ? { notice } : {});
}

function fromApi(attachment: APIAttachment): AnyAttachment {
  return { name: attachment.filename, contentType: attachment.content_type ?? null, size: attachment.size, url: attachment.url };
}
