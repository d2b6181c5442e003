import type { EmulatorState, ChannelState, GuildState, RecordedMessage, ServedFile, UserState } from './state.js';
import { contentTypeFor } from './files.js';
import { isThreadType } from './state.js';

/** Discord interaction types. */
export const InteractionKind = {
  Ping: 1,
  ApplicationCommand: 2,
  MessageComponent: 3,
  Autocomplete: 4,
  ModalSubmit: 5,
} as const;

/** Discord interaction callback types. */
export const CallbackKind = {
  Pong: 1,
  ChannelMessageWithSource: 4,
  DeferredChannelMessageWithSource: 5,
  DeferredUpdateMessage: 6,
  UpdateMessage: 7,
  AutocompleteResult: 8,
  Modal: 9,
  LaunchActivity: 12,
} as const;

/** Metadata of a file in a request (bytes are kept only on the served file). */
export interface FileInfo {
  field: string;
  filename: string;
  size: number;
  contentType: string;
}

/** One interaction callback attempt, accepted or not. */
export interface RecordedCallback {
  at: number;
  type: number | null;
  data: Record<string, unknown> | undefined;
  files: FileInfo[];
  withResponse: boolean;
  status: number;
  /** Discord's JSON error code when rejected. */
  errorCode: number | null;
}

/** One webhook call made with the interaction token (edits, follow-ups, fetches, deletes). */
export interface RecordedWebhookCall {
  at: number;
  method: string;
  /** `@original`, a follow-up message id, or `followup` for a new follow-up. */
  target: string;
  body: Record<string, unknown> | undefined;
  files: FileInfo[];
  status: number;
  errorCode: number | null;
  /** The message created or edited, when the call succeeded. */
  messageId: string | null;
}

/** A file option value for `sendCommand`: served by the emulator at a signed loopback URL. */
export interface AttachmentInput {
  filename: string;
  /** Defaults from the extension (png, jpeg, gif, webp, mp4, txt), else application/octet-stream. */
  contentType?: string;
  /** Bytes to serve; when absent, `size` bytes are synthesized (the type's magic bytes, then zeros). */
  data?: Uint8Array;
  size?: number;
  width?: number;
  height?: number;
}

/** An option value: plain values get their type from the registered command (else inferred). */
export type OptionInput = string | number | boolean | { type: number; value: string | number | boolean };

/** Who sends an interaction and where. Omit `guildId` for a DM with the bot. */
export interface InteractionTarget {
  guildId?: string;
  /** Defaults to the guild's first text channel, or the user's DM channel. */
  channelId?: string;
  userId: string;
  username?: string;
  locale?: string;
  /** Overrides `app_permissions` (defaults to the bot's real permissions in the channel). */
  appPermissions?: bigint;
  /** Overrides `member.permissions` (defaults to the member's real permissions in the channel). */
  memberPermissions?: bigint;
  /**
   * Overrides `attachment_size_limit` (defaults to the guild's upload cap); `null` leaves the field
   * out, as older payloads did (uploads are then still capped by the guild's real limit).
   */
  attachmentSizeLimit?: number | null;
  /** Overrides the emulator's ack deadline for this interaction. */
  ackDeadlineMs?: number;
  /** Overrides the emulator's token lifetime for this interaction. */
  tokenTtlMs?: number;
}

/** A slash command invocation. */
export interface CommandInput extends InteractionTarget {
  name: string;
  subcommandGroup?: string;
  subcommand?: string;
  options?: Record<string, OptionInput>;
  /** File options by option name (type 11 with `resolved.attachments`). */
  attachments?: Record<string, AttachmentInput>;
}

/** An autocomplete request: `focused` names the option being typed (its value is sent as a string). */
export interface AutocompleteInput extends CommandInput {
  focused: string;
}

/** A click on a button (or a select menu choice) of an existing message. */
export interface ComponentInput extends InteractionTarget {
  messageId: string;
  customId: string;
  /** 2 = button (default), 3 = string select, … */
  componentType?: number;
  values?: string[];
}

/** A message context-menu command (Apps → name) used on an existing message. */
export interface MessageCommandInput extends InteractionTarget {
  /** The registered command's name, e.g. `Animate with Sora`. */
  name: string;
  /** The message it is used on; the guild and channel default to that message's. */
  messageId: string;
}

/** A submitted modal: text input values by `custom_id`. */
export interface ModalSubmitInput extends InteractionTarget {
  customId: string;
  fields: Record<string, string>;
  /** The message whose component opened the modal, if any. */
  messageId?: string;
}

/** What the emulator needs to build interaction payloads. */
export interface InteractionContext {
  state: EmulatorState;
  nextId: () => string;
  token: () => string;
  now: () => number;
}

/** The common part of every interaction payload, plus where it happens. */
export interface BuiltInteraction {
  payload: Record<string, unknown>;
  guild: GuildState | null;
  channel: ChannelState;
  user: UserState;
  attachmentSizeLimit: number;
}

/** Builds the fields discord.js 14.28 dereferences for any interaction type. */
export function buildBaseInteraction(ctx: InteractionContext, type: number, target: InteractionTarget): BuiltInteraction {
  const { state } = ctx;
  const user = state.ensureUser(target.userId, target.username);
  const guild = target.guildId !== undefined ? state.requireGuild(target.guildId) : null;
  let channel: ChannelState;
  if (guild) {
    if (!guild.members.has(user.id)) state.addMember(guild.id, { id: user.id, username: user.username });
    const channelId = target.channelId ?? guild.channelIds.find((id) => state.channels.get(id)?.type === 0);
    if (!channelId) throw new Error(`guild ${guild.id} has no text channel; pass channelId`);
    channel = state.requireChannel(channelId);
  } else {
    channel = target.channelId ? state.requireChannel(target.channelId) : state.dmChannelFor(user.id);
  }
  const sentLimit = target.attachmentSizeLimit === null ? undefined : (target.attachmentSizeLimit ?? state.uploadLimitFor(channel));
  const attachmentSizeLimit = sentLimit ?? state.uploadLimitFor(channel);
  const appPermissions = target.appPermissions ?? state.channelPermissions(channel, state.bot.id);
  const payload: Record<string, unknown> = {
    id: ctx.nextId(),
    application_id: state.bot.id,
    type,
    token: ctx.token(),
    version: 1,
    app_permissions: appPermissions.toString(),
    locale: target.locale ?? 'en-US',
    // discord.js calls entitlements.reduce and indexes authorizing_integration_owners: both are required.
    entitlements: [],
    channel_id: channel.id,
  };
  if (sentLimit !== undefined) payload.attachment_size_limit = sentLimit;
  if (guild) {
    const memberPermissions = target.memberPermissions ?? state.channelPermissions(channel, user.id);
    const member = guild.members.get(user.id);
    payload.guild_id = guild.id;
    payload.guild_locale = guild.preferredLocale;
    payload.guild = { id: guild.id, locale: guild.preferredLocale, features: [] };
    payload.member = { ...(member ? state.apiMember(member) : {}), permissions: memberPermissions.toString() };
    // Without a `channel` object, interaction.channelId and interaction.channel are null in v14.28.
    payload.channel = { ...state.apiChannel(channel), permissions: memberPermissions.toString() };
    payload.authorizing_integration_owners = { '0': guild.id };
    payload.context = 0;
  } else {
    payload.user = state.apiUser(user);
    payload.channel = state.apiChannel(channel);
    // In the bot's DM the guild-install owner is "0".
    payload.authorizing_integration_owners = { '0': '0' };
    payload.context = 1;
  }
  return { payload, guild, channel, user, attachmentSizeLimit };
}

/** Builds the `data` of a slash command or autocomplete interaction (options nested under subcommands). */
export function buildCommandData(
  ctx: InteractionContext,
  input: CommandInput,
  guild: GuildState | null,
  channel: ChannelState,
  focused?: string,
): Record<string, unknown> {
  const { state } = ctx;
  const definition = findCommand(state, input.name, guild?.id ?? null, 1);
  const resolved: Record<string, Record<string, unknown>> = {};
  const optionDefs = asOptionList(definition?.command.options);
  const leafOptions: Record<string, unknown>[] = [];
  for (const [name, value] of Object.entries(input.options ?? {})) {
    const defs = subOptions(optionDefs, input.subcommandGroup, input.subcommand);
    const declared = defs.find((o) => o.name === name);
    const typed = typeof value === 'object' ? value : { type: declared?.type ?? inferType(value), value };
    const option: Record<string, unknown> = { name, type: typed.type, value: typed.value };
    if (name === focused) {
      option.value = String(typed.value);
      option.focused = true;
    }
    addResolved(state, resolved, typed.type, String(typed.value), guild, channel);
    leafOptions.push(option);
  }
  for (const [name, attachment] of Object.entries(input.attachments ?? {})) {
    const file = serveAttachment(state, attachment);
    const record = state.attachmentOf(file, null);
    resolved.attachments ??= {};
    resolved.attachments[file.id] = {
      id: file.id,
      filename: file.filename,
      size: file.size,
      url: record.url,
      proxy_url: record.proxyUrl,
      content_type: file.contentType,
      ephemeral: true,
      ...(attachment.width !== undefined ? { width: attachment.width, height: attachment.height ?? attachment.width } : {}),
    };
    leafOptions.push({ name, type: 11, value: file.id });
  }
  let options: Record<string, unknown>[] = leafOptions;
  if (input.subcommand) options = [{ name: input.subcommand, type: 1, options }];
  if (input.subcommandGroup) options = [{ name: input.subcommandGroup, type: 2, options }];
  return {
    id: definition?.command.id ?? ctx.nextId(),
    name: input.name,
    type: 1,
    ...(definition?.scope && definition.scope !== 'global' ? { guild_id: definition.scope } : {}),
    options,
    ...(Object.keys(resolved).length > 0 ? { resolved } : {}),
  };
}

/**
 * Builds the `data` of a message command (type 3): the target message in full under
 * `resolved.messages`, as Discord sends it (attachments with their signed URLs, author, channel_id).
 */
export function buildMessageCommandData(
  ctx: InteractionContext,
  input: MessageCommandInput,
  guild: GuildState | null,
  message: RecordedMessage,
): Record<string, unknown> {
  const definition = findCommand(ctx.state, input.name, guild?.id ?? null, 3);
  return {
    id: definition?.command.id ?? ctx.nextId(),
    name: input.name,
    type: 3,
    ...(definition?.scope && definition.scope !== 'global' ? { guild_id: definition.scope } : {}),
    target_id: message.id,
    resolved: { messages: { [message.id]: ctx.state.apiMessage(message) } },
  };
}

/** Builds the `data` of a modal submit: one action row per text input. */
export function buildModalData(input: ModalSubmitInput): Record<string, unknown> {
  let id = 1;
  return {
    custom_id: input.customId,
    components: Object.entries(input.fields).map(([customId, value]) => ({
      type: 1,
      id: id++,
      components: [{ type: 4, id: id++, custom_id: customId, value }],
    })),
  };
}

/** The `message` of a component interaction (the message the component is on). */
export function componentMessage(state: EmulatorState, messageId: string): RecordedMessage {
  const message = state.messages.get(messageId);
  if (!message) throw new Error(`unknown message ${messageId}`);
  return message;
}

interface OptionDef {
  name: string;
  type: number;
  options?: unknown;
}

function asOptionList(value: unknown): OptionDef[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (o): o is OptionDef =>
      typeof o === 'object' && o !== null && typeof (o as OptionDef).name === 'string' && typeof (o as OptionDef).type === 'number',
  );
}

function subOptions(defs: OptionDef[], group: string | undefined, subcommand: string | undefined): OptionDef[] {
  let list = defs;
  if (group) list = asOptionList(list.find((o) => o.name === group && o.type === 2)?.options);
  if (subcommand) list = asOptionList(list.find((o) => o.name === subcommand && o.type === 1)?.options);
  return list;
}

function inferType(value: string | number | boolean): number {
  if (typeof value === 'string') return 3;
  if (typeof value === 'boolean') return 5;
  return Number.isInteger(value) ? 4 : 10;
}

function addResolved(
  state: EmulatorState,
  resolved: Record<string, Record<string, unknown>>,
  type: number,
  value: string,
  guild: GuildState | null,
  channel: ChannelState,
): void {
  if (type === 6 || type === 9) {
    const user = state.users.get(value);
    if (user) {
      (resolved.users ??= {})[value] = state.apiUser(user);
      const member = guild?.members.get(value);
      if (member) {
        const memberPayload = state.apiMember(member);
        delete memberPayload.user;
        (resolved.members ??= {})[value] = { ...memberPayload, permissions: state.channelPermissions(channel, value).toString() };
      }
    }
  }
  if (type === 7) {
    const target = state.channels.get(value);
    if (target) {
      (resolved.channels ??= {})[value] = {
        id: target.id,
        name: target.name,
        type: target.type,
        guild_id: target.guildId,
        parent_id: target.parentId,
        flags: 0,
        permissions: state.channelPermissions(target, state.bot.id).toString(),
        ...(isThreadType(target.type) ? { thread_metadata: { archived: false, auto_archive_duration: 1440, locked: false } } : {}),
      };
    }
  }
  if ((type === 8 || type === 9) && guild) {
    const role = guild.roles.get(value);
    if (role) (resolved.roles ??= {})[value] = state.apiRole(role);
  }
}

function findCommand(
  state: EmulatorState,
  name: string,
  guildId: string | null,
  type: number,
): { scope: string; command: Record<string, unknown> } | undefined {
  for (const scope of guildId ? [guildId, 'global'] : ['global']) {
    const command = state.commands.get(scope)?.get(`${type}:${name}`);
    if (command) return { scope, command };
  }
  return undefined;
}

/** Registers an input attachment as a served file. */
export function serveAttachment(state: EmulatorState, input: AttachmentInput): ServedFile {
  const data = input.data ? Buffer.from(input.data) : null;
  return state.serveFile({
    filename: input.filename,
    contentType: input.contentType ?? contentTypeFor(input.filename),
    size: data ? data.length : (input.size ?? 1024),
    data,
  });
}
