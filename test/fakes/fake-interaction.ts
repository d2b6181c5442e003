import { PermissionFlagsBits, PermissionsBitField, type ChatInputCommandInteraction, type InteractionReplyOptions } from 'discord.js';

/** A channel of the fake guild: the bot's effective permissions in it. */
export interface FakeChannel {
  id: string;
  thread?: boolean;
  parentId?: string;
  botPermissions: bigint;
}

/** An option value: plain values, or `{ id }` for channel and role options. */
export type FakeOptionValue = string | number | boolean | { id: string };

/** What the fake slash command carries. */
export interface FakeInteractionInput {
  commandName?: string;
  subcommandGroup?: string | null;
  subcommand: string;
  options?: Record<string, FakeOptionValue>;
  /** null for a DM. */
  guildId?: string | null;
  channelId?: string;
  userId?: string;
  /** The member's permissions in the channel; none by default. */
  memberPermissions?: bigint;
  memberRoleIds?: string[];
  /** Channels of the guild the bot can see (`guild.channels.cache`). */
  channels?: FakeChannel[];
  /** The bot's permissions in the command's channel (`appPermissions`); all it needs by default. */
  appPermissions?: bigint;
  /** The member's Discord locale; en-US by default. */
  locale?: string;
  /** The guild's Discord locale; en-US by default. */
  guildLocale?: string;
  /** When Discord created the interaction (ms); now by default. */
  createdTimestamp?: number;
}

/** A fake interaction and what the command answered. */
export interface FakeInteraction {
  interaction: ChatInputCommandInteraction;
  replies: InteractionReplyOptions[];
  /** The text of the last reply. */
  lastReply(): string;
}

export const FAKE_GUILD_ID = '500000000000000001';
export const FAKE_CHANNEL_ID = '500000000000000002';
export const FAKE_USER_ID = '500000000000000003';
const FAKE_BOT_ID = '500000000000000009';
/** What the bot needs in a channel to deliver a result. */
export const DELIVERY_PERMISSIONS =
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.SendMessagesInThreads |
  PermissionFlagsBits.EmbedLinks |
  PermissionFlagsBits.AttachFiles |
  PermissionFlagsBits.ReadMessageHistory;

/**
 * A ChatInputCommandInteraction with only the members the commands use (options, member
 * permissions and roles, the guild's channel cache and `members.me`, app permissions, reply/defer).
 */
export function createFakeInteraction(input: FakeInteractionInput): FakeInteraction {
  const replies: InteractionReplyOptions[] = [];
  const guildId = input.guildId === undefined ? FAKE_GUILD_ID : input.guildId;
  const options = input.options ?? {};
  const me = { id: FAKE_BOT_ID };
  const channels = new Map(
    (input.channels ?? []).map((channel) => [
      channel.id,
      {
        id: channel.id,
        parentId: channel.parentId ?? null,
        isThread: () => channel.thread ?? false,
        permissionsFor: (member: { id: string }) => new PermissionsBitField(member.id === FAKE_BOT_ID ? channel.botPermissions : 0n),
      },
    ]),
  );
  const channelId = input.channelId ?? FAKE_CHANNEL_ID;

  const option = (name: string, required = false): FakeOptionValue | null => {
    const value = options[name];
    if (value === undefined && required) throw new Error(`fake interaction: required option "${name}" missing`);
    return value ?? null;
  };
  const entity = (name: string, required?: boolean) => {
    const value = option(name, required);
    return typeof value === 'object' && value !== null ? value : null;
  };
  const typed =
    <T extends string | number | boolean>(type: string) =>
    (name: string, required?: boolean) => {
      const value = option(name, required);
      if (value !== null && typeof value !== type) throw new Error(`fake interaction: option "${name}" is not a ${type}`);
      return value as T | null;
    };

  const fake = {
    id: '500000000000000100',
    commandName: input.commandName ?? 'sora-admin',
    guildId,
    channelId,
    channel: channels.get(channelId) ?? null,
    user: { id: input.userId ?? FAKE_USER_ID },
    member: guildId === null ? null : { roles: input.memberRoleIds ?? [] },
    memberPermissions: guildId === null ? null : new PermissionsBitField(input.memberPermissions ?? 0n),
    guild:
      guildId === null
        ? null
        : {
            id: guildId,
            channels: { cache: channels },
            members: { me, fetchMe: () => Promise.resolve(me) },
          },
    applicationId: FAKE_BOT_ID,
    token: 'fake-interaction-token',
    createdTimestamp: input.createdTimestamp ?? Date.now(),
    locale: input.locale ?? 'en-US',
    guildLocale: input.guildLocale ?? 'en-US',
    attachmentSizeLimit: 10 * 1024 * 1024,
    appPermissions: new PermissionsBitField(input.appPermissions ?? DELIVERY_PERMISSIONS),
    deferred: false,
    replied: false,
    isAutocomplete: () => false,
    isChatInputCommand: () => true,
    options: {
      getSubcommandGroup: () => input.subcommandGroup ?? null,
      getSubcommand: () => input.subcommand,
      getString: typed<string>('string'),
      getInteger: typed<number>('number'),
      getBoolean: typed<boolean>('boolean'),
      getChannel: entity,
      getRole: entity,
      getAttachment: () => null,
    },
    reply(reply: InteractionReplyOptions) {
      if (fake.replied || fake.deferred) return Promise.reject(new Error('fake interaction: already acknowledged'));
      fake.replied = true;
      replies.push(reply);
      return Promise.resolve();
    },
    deferReply() {
      if (fake.replied || fake.deferred) return Promise.reject(new Error('fake interaction: already acknowledged'));
      fake.deferred = true;
      return Promise.resolve();
    },
    editReply(reply: InteractionReplyOptions) {
      replies.push(reply);
      return Promise.resolve();
    },
  };

  return {
    interaction: fake as unknown as ChatInputCommandInteraction,
    replies,
    lastReply() {
      const last = replies.at(-1);
      return typeof last?.content === 'string' ? last.content : '';
    },
  };
}
