import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { APIEmbed } from 'discord.js';
import { discordErrors } from './errors.js';
import type { UploadedFile } from './http.js';
import { contentTypeFor } from './files.js';
import { resolveMentions } from './messages.js';
import type { AllowedMentionsBody, MessageBody, ResolvedMentions } from './messages.js';
import {
  ALL_PERMISSIONS,
  DEFAULT_BOT_PERMISSIONS,
  DEFAULT_MEMBER_PERMISSIONS,
  PermissionBits,
  computeBasePermissions,
  computeChannelPermissions,
} from './permissions.js';
import type { PermissionOverwrite } from './permissions.js';

const MIB = 1024 * 1024;
// discord-api-docs, Uploading Files: "The default limit is `20 MiB` for all users" (10 MiB before).
const DEFAULT_UPLOAD_LIMIT = 20 * MIB;

/** Channel types the emulator knows (Discord's numbers). */
export const ChannelKind = {
  GuildText: 0,
  DM: 1,
  GuildVoice: 2,
  GuildCategory: 4,
  GuildAnnouncement: 5,
  AnnouncementThread: 10,
  PublicThread: 11,
  PrivateThread: 12,
  GuildForum: 15,
} as const;

/** True for the three thread channel types. */
export function isThreadType(type: number): boolean {
  return type === 10 || type === 11 || type === 12;
}

/** A Discord user (members, the bot, DM partners). */
export interface UserState {
  id: string;
  username: string;
  globalName: string | null;
  bot: boolean;
}

/** A guild role. */
export interface RoleState {
  id: string;
  name: string;
  permissions: bigint;
  position: number;
  managed: boolean;
  botId: string | null;
}

/** A guild member. */
export interface MemberState {
  userId: string;
  roleIds: string[];
  joinedAt: string;
  nick: string | null;
}

/** A guild channel, thread or DM channel. */
export interface ChannelState {
  id: string;
  guildId: string | null;
  name: string;
  type: number;
  position: number;
  parentId: string | null;
  topic: string | null;
  overwrites: PermissionOverwrite[];
  deleted: boolean;
  /** DM channels only: the other user. */
  recipientId: string | null;
  lastMessageId: string | null;
}

/** A guild the bot is in. */
export interface GuildState {
  id: string;
  name: string;
  ownerId: string;
  premiumTier: 0 | 1 | 2 | 3;
  /** Overrides the tier's upload cap when set. */
  uploadLimitBytes: number | null;
  preferredLocale: string;
  roles: Map<string, RoleState>;
  members: Map<string, MemberState>;
  channelIds: string[];
  botRoleId: string;
  memberRoleId: string;
  joinedAt: string;
  /** The bot was removed from it (GUILD_DELETE sent). */
  removed: boolean;
}

/** A channel to create with a guild. */
export interface ChannelSetup {
  id?: string;
  name: string;
  /** Discord channel type; 0 (text) by default. Threads (10–12) need `parentId`. */
  type?: number;
  parentId?: string;
  topic?: string;
}

/** A member to create with a guild. */
export interface MemberSetup {
  id: string;
  username?: string;
  /** Guild-level permissions of this member; ordinary member permissions by default. */
  permissions?: bigint;
}

/** A guild to create. */
export interface GuildSetup {
  id?: string;
  name: string;
  /** Boost tier: uploads are capped at 20 MiB (0–1), 50 MiB (2) or 100 MiB (3). */
  premiumTier?: 0 | 1 | 2 | 3;
  /** Overrides the tier's upload cap. */
  uploadLimitBytes?: number;
  channels?: ChannelSetup[];
  /** Guild-level permissions of the bot's role. */
  botPermissions?: bigint;
  ownerId?: string;
  members?: MemberSetup[];
  preferredLocale?: string;
}

/** A file attached to a message (or to an interaction option). */
export interface RecordedAttachment {
  id: string;
  filename: string;
  size: number;
  contentType: string | null;
  description: string | null;
  url: string;
  proxyUrl: string;
  /** Images only: pixel size, as Discord reports it. */
  width?: number;
  height?: number;
}

/** Where a message came from. */
export type MessageSource = 'channel' | 'interaction' | 'followup' | 'user';

/** One edit applied to a message. */
export interface MessageEdit {
  at: number;
  body: Record<string, unknown>;
}

/** A message as the emulator stores it; `channelMessages()` returns these. */
export interface RecordedMessage {
  id: string;
  channelId: string;
  guildId: string | null;
  authorId: string;
  source: MessageSource;
  /** The interaction this message answers (responses and follow-ups). */
  interactionId: string | null;
  type: number;
  flags: number;
  createdAt: number;
  editedAt: number | null;
  content: string;
  embeds: APIEmbed[];
  components: Record<string, unknown>[];
  allowedMentions: AllowedMentionsBody | null;
  /** Who the message pinged when it was created, after `allowed_mentions` (edits never ping on Discord). */
  mentions: ResolvedMentions;
  nonce: string | number | null;
  enforceNonce: boolean;
  attachments: RecordedAttachment[];
  messageReference: Record<string, unknown> | null;
  edits: MessageEdit[];
  deleted: boolean;
}

/** A file the emulator serves under `/attachments/<id>/<filename>`. */
export interface ServedFile {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  /** Null: synthesized on request (magic bytes of the type, then zeros). */
  data: Buffer | null;
}

/** Input to `EmulatorState.createMessage`. */
export interface CreateMessageInput {
  channel: ChannelState;
  author: UserState;
  body: MessageBody;
  files: readonly UploadedFile[];
  source: MessageSource;
  type: number;
  flags: number;
  interactionId: string | null;
  webhookId: string | null;
  interactionMetadata: Record<string, unknown> | null;
  canMentionEveryone: boolean;
  /** Ephemeral messages are not part of the channel's history. */
  visibleInChannel: boolean;
}

/** Settings of the state model. */
export interface StateOptions {
  now: () => number;
  nextId: () => string;
  bot: UserState;
  /** How long signed attachment URLs stay valid. */
  attachmentUrlTtlMs: number;
  /** How long `enforce_nonce` remembers a nonce. */
  nonceWindowMs: number;
}

/** The emulator's model of Discord: users, guilds, channels, messages, files, commands. */
export class EmulatorState {
  readonly users = new Map<string, UserState>();
  readonly guilds = new Map<string, GuildState>();
  readonly channels = new Map<string, ChannelState>();
  readonly messages = new Map<string, RecordedMessage>();
  readonly files = new Map<string, ServedFile>();
  /** Registered application commands by scope (`global` or a guild id), then by `type:name`. */
  readonly commands = new Map<string, Map<string, Record<string, unknown>>>();
  /** Threads carry no overwrites of their own; bot overrides for them live here. */
  private readonly threadBotPermissions = new Map<string, bigint>();
  /** Filled in once the HTTP server listens. */
  baseUrl = 'http://127.0.0.1:0';
  private readonly channelHistory = new Map<string, string[]>();
  private readonly nonces = new Map<string, Map<string, { messageId: string; at: number }>>();
  private readonly dmChannelByUser = new Map<string, string>();
  private readonly urlSecret = randomBytes(16);

  constructor(readonly options: StateOptions) {
    this.users.set(options.bot.id, options.bot);
  }

  /** The bot user; its id is also the application id. */
  get bot(): UserState {
    return this.options.bot;
  }

  /** Adds a user, or returns the existing one. */
  ensureUser(id: string, username?: string): UserState {
    const existing = this.users.get(id);
    if (existing) return existing;
    const user: UserState = { id, username: username ?? `user${id.slice(-4)}`, globalName: null, bot: false };
    this.users.set(id, user);
    return user;
  }

  /** Creates a guild with an @everyone role (id = guild id), a "Members" role and the bot's managed role. */
  addGuild(setup: GuildSetup): GuildState {
    const id = setup.id ?? this.options.nextId();
    if (this.guilds.has(id) && !this.guilds.get(id)?.removed) throw new Error(`guild ${id} already exists`);
    const ownerId = setup.ownerId ?? this.options.nextId();
    const joinedAt = new Date(this.options.now()).toISOString();
    const botRoleId = this.options.nextId();
    const memberRoleId = this.options.nextId();
    const guild: GuildState = {
      id,
      name: setup.name,
      ownerId,
      premiumTier: setup.premiumTier ?? 0,
      uploadLimitBytes: setup.uploadLimitBytes ?? null,
      preferredLocale: setup.preferredLocale ?? 'en-US',
      roles: new Map(),
      members: new Map(),
      channelIds: [],
      botRoleId,
      memberRoleId,
      joinedAt,
      removed: false,
    };
    // @everyone grants nothing so that each member's permissions are exactly what its roles say.
    guild.roles.set(id, { id, name: '@everyone', permissions: 0n, position: 0, managed: false, botId: null });
    guild.roles.set(memberRoleId, {
      id: memberRoleId,
      name: 'Members',
      permissions: DEFAULT_MEMBER_PERMISSIONS,
      position: 1,
      managed: false,
      botId: null,
    });
    guild.roles.set(botRoleId, {
      id: botRoleId,
      name: this.bot.username,
      permissions: setup.botPermissions ?? DEFAULT_BOT_PERMISSIONS,
      position: 2,
      managed: true,
      botId: this.bot.id,
    });
    this.guilds.set(id, guild);
    guild.members.set(this.bot.id, { userId: this.bot.id, roleIds: [botRoleId], joinedAt, nick: null });
    this.ensureUser(ownerId, 'owner');
    guild.members.set(ownerId, { userId: ownerId, roleIds: [memberRoleId], joinedAt, nick: null });
    for (const member of setup.members ?? []) this.addMember(id, member);
    for (const channel of setup.channels ?? []) this.addChannel(id, channel);
    return guild;
  }

  /** Adds (or updates) a member; custom permissions get a role of their own. */
  addMember(guildId: string, setup: MemberSetup): MemberState {
    const guild = this.requireGuild(guildId);
    this.ensureUser(setup.id, setup.username);
    const roleIds = [guild.memberRoleId];
    if (setup.permissions !== undefined) {
      const roleId = this.options.nextId();
      guild.roles.set(roleId, {
        id: roleId,
        name: `role of ${setup.username ?? setup.id}`,
        permissions: setup.permissions,
        position: guild.roles.size,
        managed: false,
        botId: null,
      });
      roleIds.splice(0, 1, roleId);
    }
    const member: MemberState = {
      userId: setup.id,
      roleIds,
      joinedAt: new Date(this.options.now()).toISOString(),
      nick: null,
    };
    guild.members.set(setup.id, member);
    return member;
  }

  /** Adds a channel (or thread) to a guild. */
  addChannel(guildId: string, setup: ChannelSetup): ChannelState {
    const guild = this.requireGuild(guildId);
    const type = setup.type ?? ChannelKind.GuildText;
    if (isThreadType(type) && !setup.parentId) throw new Error(`thread ${setup.name} needs a parentId`);
    const channel: ChannelState = {
      id: setup.id ?? this.options.nextId(),
      guildId,
      name: setup.name,
      type,
      position: guild.channelIds.length,
      parentId: setup.parentId ?? null,
      topic: setup.topic ?? null,
      overwrites: [],
      deleted: false,
      recipientId: null,
      lastMessageId: null,
    };
    this.channels.set(channel.id, channel);
    guild.channelIds.push(channel.id);
    return channel;
  }

  /** The DM channel between the bot and a user, created on first use. */
  dmChannelFor(userId: string): ChannelState {
    const existingId = this.dmChannelByUser.get(userId);
    const existing = existingId ? this.channels.get(existingId) : undefined;
    if (existing) return existing;
    this.ensureUser(userId);
    const channel: ChannelState = {
      id: this.options.nextId(),
      guildId: null,
      name: '',
      type: ChannelKind.DM,
      position: 0,
      parentId: null,
      topic: null,
      overwrites: [],
      deleted: false,
      recipientId: userId,
      lastMessageId: null,
    };
    this.channels.set(channel.id, channel);
    this.dmChannelByUser.set(userId, channel.id);
    return channel;
  }

  /** A guild, or an Error for test set-up mistakes. */
  requireGuild(guildId: string): GuildState {
    const guild = this.guilds.get(guildId);
    if (!guild) throw new Error(`unknown guild ${guildId}`);
    return guild;
  }

  /** A channel, or an Error for test set-up mistakes. */
  requireChannel(channelId: string): ChannelState {
    const channel = this.channels.get(channelId);
    if (!channel) throw new Error(`unknown channel ${channelId}`);
    return channel;
  }

  /** Guild-level permissions of a member. */
  guildPermissions(guild: GuildState, userId: string): bigint {
    const member = guild.members.get(userId);
    return computeBasePermissions({
      guildId: guild.id,
      ownerId: guild.ownerId,
      userId,
      rolePermissions: rolePermissionMap(guild),
      memberRoleIds: member?.roleIds ?? [],
      overwrites: [],
    });
  }

  /** Effective permissions of a user in a channel (all of them in DMs). */
  channelPermissions(channel: ChannelState, userId: string): bigint {
    if (channel.guildId === null) {
      return (
        PermissionBits.ViewChannel |
        PermissionBits.SendMessages |
        PermissionBits.EmbedLinks |
        PermissionBits.AttachFiles |
        PermissionBits.ReadMessageHistory |
        PermissionBits.AddReactions
      );
    }
    const threadOverride = userId === this.bot.id ? this.threadBotPermissions.get(channel.id) : undefined;
    if (threadOverride !== undefined) return threadOverride;
    const guild = this.requireGuild(channel.guildId);
    const member = guild.members.get(userId);
    const source = isThreadType(channel.type) && channel.parentId ? this.channels.get(channel.parentId) : channel;
    return computeChannelPermissions({
      guildId: guild.id,
      ownerId: guild.ownerId,
      userId,
      rolePermissions: rolePermissionMap(guild),
      memberRoleIds: member?.roleIds ?? [],
      overwrites: source?.overwrites ?? channel.overwrites,
      isThread: isThreadType(channel.type),
    });
  }

  /**
   * Makes the bot's effective permissions in a channel exactly `permissions` (null removes the override).
   * For ordinary channels this is a member overwrite, so discord.js sees it after CHANNEL_UPDATE.
   */
  setBotPermissions(channelId: string, permissions: bigint | null): ChannelState {
    const channel = this.requireChannel(channelId);
    if (isThreadType(channel.type)) {
      if (permissions === null) this.threadBotPermissions.delete(channelId);
      else this.threadBotPermissions.set(channelId, permissions);
      return channel;
    }
    channel.overwrites = channel.overwrites.filter((o) => !(o.type === 1 && o.id === this.bot.id));
    if (permissions !== null) {
      channel.overwrites.push({ id: this.bot.id, type: 1, allow: permissions, deny: ALL_PERMISSIONS & ~permissions });
    }
    return channel;
  }

  /** Discord's per-file upload cap for a channel: the guild's boost tier decides (20 MiB unboosted since September 2026). */
  uploadLimitFor(channel: ChannelState): number {
    if (channel.guildId === null) return DEFAULT_UPLOAD_LIMIT;
    const guild = this.requireGuild(channel.guildId);
    if (guild.uploadLimitBytes !== null) return guild.uploadLimitBytes;
    return guild.premiumTier === 3 ? 100 * MIB : guild.premiumTier === 2 ? 50 * MIB : DEFAULT_UPLOAD_LIMIT;
  }

  /** The message created earlier with this nonce and `enforce_nonce`, if still remembered. */
  findEnforcedNonce(channelId: string, nonce: string | number): RecordedMessage | undefined {
    const entry = this.nonces.get(channelId)?.get(String(nonce));
    if (!entry || this.options.now() - entry.at > this.options.nonceWindowMs) return undefined;
    return this.messages.get(entry.messageId);
  }

  /** Creates a message, its attachments (files become served files) and its mentions. */
  createMessage(input: CreateMessageInput): RecordedMessage {
    const { body, channel } = input;
    const now = this.options.now();
    const message: RecordedMessage = {
      id: this.options.nextId(),
      channelId: channel.id,
      guildId: channel.guildId,
      authorId: input.author.id,
      source: input.source,
      interactionId: input.interactionId,
      type: input.type,
      flags: input.flags,
      createdAt: now,
      editedAt: null,
      content: body.content ?? '',
      embeds: (body.embeds ?? []) as APIEmbed[],
      components: body.components ?? [],
      allowedMentions: body.allowed_mentions ?? null,
      mentions: resolveMentions(body.content ?? '', body.allowed_mentions, input.canMentionEveryone),
      nonce: body.nonce ?? null,
      enforceNonce: body.enforce_nonce ?? false,
      attachments: this.attachFiles(body, input.files, []),
      messageReference: body.message_reference ?? null,
      edits: [],
      deleted: false,
    };
    messageMeta.set(message, { webhookId: input.webhookId, interactionMetadata: input.interactionMetadata });
    this.messages.set(message.id, message);
    if (input.visibleInChannel) {
      const history = this.channelHistory.get(channel.id) ?? [];
      history.push(message.id);
      this.channelHistory.set(channel.id, history);
      channel.lastMessageId = message.id;
    }
    if (message.enforceNonce && message.nonce !== null) {
      const byNonce = this.nonces.get(channel.id) ?? new Map<string, { messageId: string; at: number }>();
      byNonce.set(String(message.nonce), { messageId: message.id, at: now });
      this.nonces.set(channel.id, byNonce);
    }
    return message;
  }

  /** Applies an edit: only the fields present change; `attachments` lists the ones to keep. */
  editMessage(message: RecordedMessage, body: MessageBody, files: readonly UploadedFile[], raw: Record<string, unknown>): RecordedMessage {
    if (body.content !== undefined) message.content = body.content ?? '';
    if (body.embeds !== undefined) message.embeds = (body.embeds ?? []) as APIEmbed[];
    if (body.components !== undefined) message.components = body.components ?? [];
    if (body.allowed_mentions !== undefined) message.allowedMentions = body.allowed_mentions ?? null;
    if (body.flags !== undefined && body.flags !== null) {
      // Only SUPPRESS_EMBEDS (4) and IS_COMPONENTS_V2 (1<<15) can be changed by an edit.
      const editable = 4 | (1 << 15);
      message.flags = (message.flags & ~editable) | (body.flags & editable);
    }
    // A deferred response stops "thinking" (LOADING, 128) on its first edit.
    message.flags &= ~128;
    if (body.attachments !== undefined || files.length > 0) {
      message.attachments = this.attachFiles(body, files, message.attachments);
    }
    message.editedAt = this.options.now();
    message.edits.push({ at: message.editedAt, body: raw });
    return message;
  }

  /** Marks a message deleted and drops it from the channel history. */
  deleteMessage(message: RecordedMessage): void {
    message.deleted = true;
    const history = this.channelHistory.get(message.channelId);
    if (history)
      this.channelHistory.set(
        message.channelId,
        history.filter((id) => id !== message.id),
      );
  }

  /** Messages visible in a channel, oldest first (deleted ones excluded). */
  channelMessages(channelId: string): RecordedMessage[] {
    const ids = this.channelHistory.get(channelId) ?? [];
    const list: RecordedMessage[] = [];
    for (const id of ids) {
      const message = this.messages.get(id);
      if (message && !message.deleted) list.push(message);
    }
    return list;
  }

  private attachFiles(body: MessageBody, files: readonly UploadedFile[], existing: readonly RecordedAttachment[]): RecordedAttachment[] {
    const refs = body.attachments ?? [];
    const kept = body.attachments === undefined ? [...existing] : existing.filter((a) => refs.some((r) => String(r.id) === a.id));
    const added = files.map((file) => {
      const index = /\[(\d+)\]$/.exec(file.field)?.[1] ?? file.field;
      const ref = refs.find((r) => String(r.id) === index);
      const filename = ref?.filename ?? file.filename;
      const served = this.serveFile({
        filename,
        // Discord derives content_type from the file when the part carries none.
        contentType: file.contentType === 'application/octet-stream' ? contentTypeFor(filename) : file.contentType,
        size: file.size,
        data: file.data,
      });
      return this.attachmentOf(served, ref?.description ?? null);
    });
    return [...kept, ...added];
  }

  /** Registers a file to serve and returns it. */
  serveFile(file: Omit<ServedFile, 'id'> & { id?: string }): ServedFile {
    const served: ServedFile = { ...file, id: file.id ?? this.options.nextId() };
    this.files.set(served.id, served);
    return served;
  }

  /** The attachment record (with a signed URL) of a served file. */
  attachmentOf(file: ServedFile, description: string | null): RecordedAttachment {
    const url = this.signedUrl(file);
    return {
      id: file.id,
      filename: file.filename,
      size: file.size,
      contentType: file.contentType,
      description,
      url,
      proxyUrl: url,
    };
  }

  /** A CDN-style URL with `ex`/`is`/`hm` parameters, valid for `attachmentUrlTtlMs`. */
  signedUrl(file: ServedFile): string {
    const issuedS = Math.floor(this.options.now() / 1000);
    const expiresS = Math.floor((this.options.now() + this.options.attachmentUrlTtlMs) / 1000);
    const ex = expiresS.toString(16);
    const is = issuedS.toString(16);
    const hm = this.sign(file.id, ex, is);
    return `${this.baseUrl}/attachments/${file.id}/${encodeURIComponent(file.filename)}?ex=${ex}&is=${is}&hm=${hm}&`;
  }

  /** The served file a signed URL points at, or undefined when unknown, unsigned or expired. */
  verifyUrl(fileId: string, query: URLSearchParams): ServedFile | undefined {
    const file = this.files.get(fileId);
    const ex = query.get('ex');
    const is = query.get('is');
    const hm = query.get('hm');
    if (!file || !ex || !is || !hm) return undefined;
    const expected = Buffer.from(this.sign(fileId, ex, is));
    const given = Buffer.from(hm);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    if (parseInt(ex, 16) * 1000 < this.options.now()) return undefined;
    return file;
  }

  private sign(fileId: string, ex: string, is: string): string {
    return createHmac('sha256', this.urlSecret).update(`${fileId}:${ex}:${is}`).digest('hex');
  }

  // ---- API shapes ----

  /** A user object. */
  apiUser(user: UserState): Record<string, unknown> {
    return {
      id: user.id,
      username: user.username,
      discriminator: '0',
      global_name: user.globalName,
      avatar: null,
      ...(user.bot ? { bot: true } : {}),
      public_flags: 0,
      flags: 0,
      banner: null,
      accent_color: null,
      avatar_decoration_data: null,
    };
  }

  /** A role object. */
  apiRole(role: RoleState): Record<string, unknown> {
    return {
      id: role.id,
      name: role.name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position: role.position,
      permissions: role.permissions.toString(),
      managed: role.managed,
      mentionable: false,
      flags: 0,
      ...(role.botId ? { tags: { bot_id: role.botId } } : {}),
    };
  }

  /** A guild member object (with `user`). */
  apiMember(member: MemberState): Record<string, unknown> {
    return {
      user: this.apiUser(this.ensureUser(member.userId)),
      nick: member.nick,
      avatar: null,
      banner: null,
      roles: member.roleIds,
      joined_at: member.joinedAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communication_disabled_until: null,
    };
  }

  /** A channel object (guild channel, thread or DM). */
  apiChannel(channel: ChannelState): Record<string, unknown> {
    if (channel.guildId === null) {
      const recipient = this.ensureUser(channel.recipientId ?? '0');
      return {
        id: channel.id,
        type: channel.type,
        last_message_id: channel.lastMessageId,
        flags: 0,
        recipients: [this.apiUser(recipient)],
      };
    }
    const base: Record<string, unknown> = {
      id: channel.id,
      type: channel.type,
      guild_id: channel.guildId,
      name: channel.name,
      position: channel.position,
      parent_id: channel.parentId,
      nsfw: false,
      flags: 0,
      last_message_id: channel.lastMessageId,
      rate_limit_per_user: 0,
    };
    if (isThreadType(channel.type)) {
      return {
        ...base,
        owner_id: this.bot.id,
        member_count: 1,
        message_count: this.channelHistory.get(channel.id)?.length ?? 0,
        total_message_sent: this.channelHistory.get(channel.id)?.length ?? 0,
        thread_metadata: {
          archived: false,
          auto_archive_duration: 1440,
          archive_timestamp: new Date(this.options.now()).toISOString(),
          locked: false,
        },
      };
    }
    return {
      ...base,
      topic: channel.topic,
      permission_overwrites: channel.overwrites.map((o) => ({
        id: o.id,
        type: o.type,
        allow: o.allow.toString(),
        deny: o.deny.toString(),
      })),
    };
  }

  /** The guild object of GET /guilds/{id}. */
  apiGuild(guild: GuildState): Record<string, unknown> {
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: guild.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      mfa_level: 0,
      nsfw_level: 0,
      roles: [...guild.roles.values()].map((r) => this.apiRole(r)),
      emojis: [],
      stickers: [],
      features: [],
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      vanity_url_code: null,
      premium_tier: guild.premiumTier,
      premium_subscription_count: [0, 2, 7, 14][guild.premiumTier],
      premium_progress_bar_enabled: false,
      preferred_locale: guild.preferredLocale,
      max_members: 500_000,
    };
  }

  /** The GUILD_CREATE payload: the guild with its channels, threads and members. */
  apiGuildCreate(guild: GuildState): Record<string, unknown> {
    const live = guild.channelIds.map((id) => this.channels.get(id)).filter((c): c is ChannelState => c !== undefined && !c.deleted);
    return {
      ...this.apiGuild(guild),
      joined_at: guild.joinedAt,
      large: false,
      unavailable: false,
      member_count: guild.members.size,
      voice_states: [],
      members: [...guild.members.values()].map((m) => this.apiMember(m)),
      channels: live.filter((c) => !isThreadType(c.type)).map((c) => this.apiChannel(c)),
      threads: live.filter((c) => isThreadType(c.type)).map((c) => this.apiChannel(c)),
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  /** The full message object Discord returns (discord.js builds a Message from it). */
  apiMessage(message: RecordedMessage): Record<string, unknown> {
    const meta = messageMeta.get(message);
    const author = this.ensureUser(message.authorId);
    return {
      id: message.id,
      type: message.type,
      channel_id: message.channelId,
      author: this.apiUser(author),
      content: message.content,
      timestamp: new Date(message.createdAt).toISOString(),
      edited_timestamp: message.editedAt === null ? null : new Date(message.editedAt).toISOString(),
      tts: false,
      mention_everyone: message.mentions.everyone,
      mentions: message.mentions.userIds.map((id) => this.apiUser(this.ensureUser(id))),
      mention_roles: message.mentions.roleIds,
      attachments: message.attachments.map((a) => ({
        id: a.id,
        filename: a.filename,
        size: a.size,
        url: a.url,
        proxy_url: a.proxyUrl,
        ...(a.contentType ? { content_type: a.contentType } : {}),
        ...(a.description ? { description: a.description } : {}),
        ...(a.width !== undefined ? { width: a.width, height: a.height ?? a.width } : {}),
      })),
      embeds: message.embeds,
      components: message.components,
      pinned: false,
      flags: message.flags,
      ...(message.nonce !== null ? { nonce: message.nonce } : {}),
      ...(meta?.webhookId ? { webhook_id: meta.webhookId, application_id: this.bot.id } : {}),
      ...(meta?.interactionMetadata ? { interaction_metadata: meta.interactionMetadata } : {}),
      ...(message.messageReference ? { message_reference: message.messageReference } : {}),
    };
  }
}

const messageMeta = new WeakMap<RecordedMessage, { webhookId: string | null; interactionMetadata: Record<string, unknown> | null }>();

function rolePermissionMap(guild: GuildState): Map<string, bigint> {
  const map = new Map<string, bigint>();
  for (const role of guild.roles.values()) map.set(role.id, role.permissions);
  return map;
}

/** Raises the Discord error for a missing or deleted channel. */
export function assertChannelUsable(channel: ChannelState | undefined, state: EmulatorState): ChannelState {
  if (!channel || channel.deleted) throw discordErrors.unknownChannel();
  if (channel.guildId !== null && state.guilds.get(channel.guildId)?.removed) throw discordErrors.missingAccess();
  return channel;
}
