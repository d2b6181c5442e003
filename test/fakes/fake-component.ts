import { PermissionsBitField, type Interaction } from 'discord.js';
import { DELIVERY_PERMISSIONS, FAKE_CHANNEL_ID, FAKE_GUILD_ID, FAKE_USER_ID } from './fake-interaction.js';

/** What a fake button, modal or context-menu interaction was answered with, in order. */
export interface RecordedAnswer {
  kind: 'reply' | 'deferReply' | 'deferUpdate' | 'editReply' | 'followUp' | 'showModal';
  body?: Record<string, unknown>;
}

/** Where the fake interaction happens and who sends it. */
export interface FakeComponentInput {
  type: 'button' | 'modal' | 'message-command';
  customId?: string;
  /** Modal text inputs by custom id. */
  fields?: Record<string, string>;
  commandName?: string;
  /** Context menu: the message it was used on. */
  targetMessage?: { id: string; channelId: string; attachments: { name: string; contentType: string | null; size: number; url: string }[] };
  /** Button: the message the button sits on. */
  messageId?: string;
  guildId?: string;
  channelId?: string;
  userId?: string;
  memberPermissions?: bigint;
  /** The bot's permissions in the channel (`appPermissions`); all it needs by default. */
  appPermissions?: bigint;
  /** The member's Discord locale; en-US by default. */
  locale?: string;
  /** The guild's Discord locale; en-US by default. */
  guildLocale?: string;
}

/** A fake interaction of one of the non-slash kinds, with the members the handlers and the router use. */
export function createFakeComponent(input: FakeComponentInput) {
  const answers: RecordedAnswer[] = [];
  const record = (kind: RecordedAnswer['kind'], body?: unknown) => {
    answers.push({ kind, ...(body ? { body: body as Record<string, unknown> } : {}) });
  };
  const guildId = input.guildId ?? FAKE_GUILD_ID;
  const acknowledge = (kind: RecordedAnswer['kind'], body?: unknown): Promise<void> => {
    if (fake.replied || fake.deferred) return Promise.reject(new Error(`fake ${input.type}: already acknowledged (${kind})`));
    record(kind, body);
    return Promise.resolve();
  };
  const fake = {
    id: '500000000000000200',
    customId: input.customId ?? '',
    commandName: input.commandName ?? '',
    guildId,
    channelId: input.channelId ?? FAKE_CHANNEL_ID,
    channel: null,
    user: { id: input.userId ?? FAKE_USER_ID },
    member: { roles: [] as string[] },
    memberPermissions: new PermissionsBitField(input.memberPermissions ?? 0n),
    appPermissions: new PermissionsBitField(input.appPermissions ?? DELIVERY_PERMISSIONS),
    applicationId: '500000000000000009',
    token: 'fake-component-token',
    locale: input.locale ?? 'en-US',
    guildLocale: input.guildLocale ?? 'en-US',
    attachmentSizeLimit: 10 * 1024 * 1024,
    deferred: false,
    replied: false,
    ephemeral: null as boolean | null,
    message: { id: input.messageId ?? '500000000000000300' },
    targetMessage: input.targetMessage
      ? { ...input.targetMessage, attachments: new Map(input.targetMessage.attachments.map((a, i) => [String(i), a])) }
      : undefined,
    fields: {
      getTextInputValue: (id: string) => {
        const value = input.fields?.[id];
        if (value === undefined) throw new Error(`fake modal: no field ${id}`);
        return value;
      },
    },
    isAutocomplete: () => false,
    isChatInputCommand: () => false,
    isMessageContextMenuCommand: () => input.type === 'message-command',
    isButton: () => input.type === 'button',
    isModalSubmit: () => input.type === 'modal',
    isMessageComponent: () => input.type === 'button',
    async reply(body: { flags?: unknown }) {
      await acknowledge('reply', body);
      fake.replied = true;
      fake.ephemeral = body.flags !== undefined;
    },
    async deferReply(body: { flags?: unknown }) {
      await acknowledge('deferReply', body);
      fake.deferred = true;
      fake.ephemeral = body.flags !== undefined;
    },
    async deferUpdate() {
      await acknowledge('deferUpdate');
      fake.deferred = true;
    },
    async showModal(body: unknown) {
      await acknowledge('showModal', body);
      fake.replied = true;
    },
    editReply(body: unknown) {
      record('editReply', body);
      return Promise.resolve();
    },
    followUp(body: unknown) {
      record('followUp', body);
      return Promise.resolve();
    },
  };
  return {
    interaction: fake as unknown as Interaction,
    answers,
    /** The text of the last answer that had any. */
    lastText(): string {
      for (const answer of [...answers].reverse()) {
        const content = answer.body?.content;
        if (typeof content === 'string') return content;
      }
      return '';
    },
  };
}
