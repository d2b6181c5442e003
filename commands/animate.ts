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
import { preflightAndStart } from '../src/discord/start-generation.js';

const IMAGE_TYPES = /^image\/(png|jpeg|webp|gif)\b/i;
const IMAGE_NAMES = /\.(png|jpe?g|webp|gif)$/i;
// Discord's limit on a modal text input; PROMPT_MAX_CHARS may be lower, and the modal says so by its limit.
const MODAL_PROMPT_MAX = 4000;

const READ_PERMISSIONS = [
  [PermissionFlagsBits.ViewChannel, 'perm.ViewChannel'],
  [PermissionFlagsBits.ReadMessageHistory, 'perm.ReadMessageHistory'],
] as const;

type AnyAttachment = Pick<Attachment, 'name' | 'contentType' | 'size' | 'url'>;

/** The first PNG, JPEG, WebP or GIF attachment of a message. */
export function firstImage(attachments: Iterable<AnyAttachment>): AnyAttachment | undefined {
  for (const attachment of attachments) {
    if (attachment.contentType ? IMAGE_TYPES.test(attachment.contentType) : IMAGE_NAMES.test(attachment.name)) return attachment;
  }
  return undefined;
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
    if (!firstImage(message.attachments.values())) throw new UserFacingError('NO_IMAGE', 'error.noImage');
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

/** The prompt modal of "Animate with Sora": an image-to-video generation from that message's image. */
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
  const image = message ? firstImage(message.attachments.map(fromApi)) : undefined;
  if (!image) {
    throw new UserFacingError('NO_IMAGE', 'error.imageGone');
  }
  await preflightAndStart(interaction, context, { prompt, attachment: image });
}

function fromApi(attachment: APIAttachment): AnyAttachment {
  return { name: attachment.filename, contentType: attachment.content_type ?? null, size: attachment.size, url: attachment.url };
}
