import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileContent } from './files.js';
import { GatewayIntent, GatewayServer } from './gateway.js';
import type { GatewayFrame } from './gateway.js';
import { InteractionHandle } from './interaction-handle.js';
import {
  InteractionKind,
  buildBaseInteraction,
  buildCommandData,
  buildMessageCommandData,
  buildModalData,
  componentMessage,
  serveAttachment,
} from './interactions.js';
import type {
  AttachmentInput,
  AutocompleteInput,
  BuiltInteraction,
  CommandInput,
  ComponentInput,
  InteractionContext,
  InteractionTarget,
  MessageCommandInput,
  ModalSubmitInput,
  RecordedCallback,
  RecordedWebhookCall,
} from './interactions.js';
import { RestServer } from './rest.js';
import type { FailureInjection, RateLimitInjection, RecordedRequest } from './rest.js';
import { createSnowflakeGenerator } from './snowflake.js';
import { EmulatorState, isThreadType } from './state.js';
import type { ChannelSetup, ChannelState, GuildSetup, GuildState, MemberSetup, RecordedMessage } from './state.js';

/** Options of `startDiscordEmulator`. Every duration can be shortened for fast tests. */
export interface DiscordEmulatorOptions {
  /** The bot token the emulator accepts (401 / gateway close 4004 otherwise). */
  token?: string;
  /** The bot user's id, which is also the application id. */
  botUserId?: string;
  botUsername?: string;
  guilds?: GuildSetup[];
  /** Interaction callbacks later than this answer 10062 (Discord: 3 s). */
  ackDeadlineMs?: number;
  /** Webhook calls with an interaction token older than this answer 50027 (Discord: 15 min). */
  interactionTokenTtlMs?: number;
  /** How long `enforce_nonce` dedupes a nonce in a channel (Discord: "a few minutes"). */
  nonceWindowMs?: number;
  /** Lifetime of signed attachment URLs (Discord: about a day). */
  attachmentUrlTtlMs?: number;
  heartbeatIntervalMs?: number;
  /** Shard count answered by GET /gateway/bot. */
  shardCount?: number;
  /** 0 (default) picks a free port. */
  port?: number;
  /** The emulator's clock (deadlines, timestamps, snowflakes). */
  now?: () => number;
  /** Discord replaces a deferred "thinking" message with the first follow-up (default true). */
  firstFollowUpEditsDeferred?: boolean;
}

/** Events the emulator emits, for tests that want to react rather than poll. */
export type DiscordEmulatorEvents = {
  request: [RecordedRequest];
  frame: [GatewayFrame];
  messageCreate: [RecordedMessage];
  messageUpdate: [RecordedMessage];
  messageDelete: [RecordedMessage];
  interactionCreate: [InteractionHandle];
  interactionCallback: [InteractionHandle, RecordedCallback];
  webhook: [InteractionHandle, RecordedWebhookCall];
  gatewayReady: [{ sessionId: string; resumed: boolean }];
  gatewayClose: [{ connectionId: number; code: number }];
  commandsChanged: [{ scope: string }];
};

/** Options of `disconnectClient`. */
export interface DisconnectOptions {
  /** WebSocket close code; 4000 (default) makes discord.js resume, 1000 makes it re-identify. */
  code?: number;
  /** Keep the session so RESUME works (default true). */
  resumable?: boolean;
}

/** The default bot token of the emulator. */
export const DEFAULT_EMULATOR_TOKEN = 'MTA5ODc2NTQzMjEwOTg3NjU0Mw.emulator.discord-bot-token';

/** A local Discord (REST + gateway + attachment CDN) on 127.0.0.1; see `startDiscordEmulator`. */
export class DiscordEmulator {
  /** Emits requests, frames, messages, callbacks and gateway changes. */
  readonly events = new EventEmitter<DiscordEmulatorEvents>();
  /** Every REST and attachment request, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Every gateway frame, both directions. */
  readonly frames: GatewayFrame[] = [];
  /** Every interaction sent, in order. */
  readonly interactions: InteractionHandle[] = [];
  /** Guilds the bot left itself (`DELETE /users/@me/guilds/:id`), in order. */
  readonly leftGuildIds: string[] = [];
  /** Resolves when a bot session first becomes ready (READY and GUILD_CREATEs sent). */
  readonly gatewayConnected: Promise<void>;
  readonly state: EmulatorState;
  private readonly gateway: GatewayServer;
  private readonly rest: RestServer;
  private readonly interactionsById = new Map<string, InteractionHandle>();
  private readonly interactionsByToken = new Map<string, InteractionHandle>();
  private readonly waiters = new Set<() => void>();
  private readonly interactionContext: InteractionContext;
  private markConnected: () => void = () => undefined;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly settings: Required<Omit<DiscordEmulatorOptions, 'guilds' | 'botUserId' | 'port'>>,
  ) {
    const nextId = createSnowflakeGenerator(settings.now);
    this.state = new EmulatorState({
      now: settings.now,
      nextId,
      bot: { id: nextId(), username: settings.botUsername, globalName: null, bot: true },
      attachmentUrlTtlMs: settings.attachmentUrlTtlMs,
      nonceWindowMs: settings.nonceWindowMs,
    });
    this.gatewayConnected = new Promise((resolve) => {
      this.markConnected = resolve;
    });
    this.interactionContext = {
      state: this.state,
      nextId,
      now: settings.now,
      token: () => `aW50ZXJhY3Rpb246${randomBytes(96).toString('base64url')}`,
    };
    this.gateway = new GatewayServer({
      state: this.state,
      token: settings.token,
      heartbeatIntervalMs: settings.heartbeatIntervalMs,
      now: settings.now,
      gatewayUrl: () => this.gatewayUrl,
      recordFrame: (frame) => {
        this.frames.push(frame);
        this.events.emit('frame', frame);
        this.changed();
      },
      onSessionReady: (session, resumed) => {
        this.markConnected();
        this.events.emit('gatewayReady', { sessionId: session.id, resumed });
        this.changed();
      },
      onConnectionClosed: (connection, code) => {
        this.events.emit('gatewayClose', { connectionId: connection.id, code });
        this.changed();
      },
    });
    this.rest = new RestServer({
      state: this.state,
      token: settings.token,
      now: settings.now,
      gatewayUrl: () => this.gatewayUrl,
      shardCount: settings.shardCount,
      firstFollowUpEditsDeferred: settings.firstFollowUpEditsDeferred,
      interactionById: (id) => this.interactionsById.get(id),
      interactionByToken: (token) => this.interactionsByToken.get(token),
      requestRecorded: (request) => {
        this.requests.push(request);
        this.events.emit('request', request);
        this.changed();
      },
      messageCreated: (message) => this.onMessage('MESSAGE_CREATE', 'messageCreate', message),
      messageUpdated: (message) => this.onMessage('MESSAGE_UPDATE', 'messageUpdate', message),
      messageDeleted: (message) => this.onMessageDeleted(message),
      callbackRecorded: (handle, callback) => {
        this.events.emit('interactionCallback', handle, callback);
        this.changed();
      },
      webhookRecorded: (handle, call) => {
        this.events.emit('webhook', handle, call);
        this.changed();
      },
      commandsChanged: (scope) => {
        this.events.emit('commandsChanged', { scope });
        this.changed();
      },
      guildLeft: (guildId) => {
        this.leftGuildIds.push(guildId);
        this.removeGuild(guildId);
        this.changed();
      },
    });
    server.on('request', (req, res) => void this.rest.handle(req, res));
    server.on('upgrade', (req, socket, head: Buffer) => this.gateway.handleUpgrade(req, socket, head));
  }

  /** Starts the HTTP/WebSocket server on 127.0.0.1 and creates the configured guilds. */
  static async start(options: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
    const server = createServer();
    const emulator = new DiscordEmulator(server, {
      token: options.token ?? DEFAULT_EMULATOR_TOKEN,
      botUsername: options.botUsername ?? 'Sora',
      ackDeadlineMs: options.ackDeadlineMs ?? 3000,
      interactionTokenTtlMs: options.interactionTokenTtlMs ?? 15 * 60_000,
      nonceWindowMs: options.nonceWindowMs ?? 5 * 60_000,
      attachmentUrlTtlMs: options.attachmentUrlTtlMs ?? 24 * 3_600_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      shardCount: options.shardCount ?? 1,
      now: options.now ?? Date.now,
      firstFollowUpEditsDeferred: options.firstFollowUpEditsDeferred ?? true,
    });
    if (options.botUserId) {
      const bot = emulator.state.bot;
      emulator.state.users.delete(bot.id);
      bot.id = options.botUserId;
      emulator.state.users.set(bot.id, bot);
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    emulator.state.baseUrl = emulator.baseUrl;
    for (const guild of options.guilds ?? []) emulator.addGuild(guild);
    return emulator;
  }

  /** The port the emulator listens on. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:PORT` (attachments are served under it). */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What to hand discord.js as `rest.api` (or the bot as DISCORD_API_URL). */
  get apiUrl(): string {
    return `${this.baseUrl}/api`;
  }

  /** The gateway URL GET /gateway/bot answers. */
  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`;
  }

  /** The accepted bot token. */
  get token(): string {
    return this.settings.token;
  }

  /** The bot user's id (= application id). */
  get botUserId(): string {
    return this.state.bot.id;
  }

  /** The application id (= bot user id). */
  get applicationId(): string {
    return this.state.bot.id;
  }

  /** True while at least one identified (or resumed) session has an open socket. */
  get isGatewayConnected(): boolean {
    return this.gateway.liveSessions().length > 0;
  }

  /** The shard (`[id, count]`) of every live session, e.g. to see one of several bot processes go. */
  liveShards(): [number, number][] {
    return this.gateway.liveSessions().map((session) => [...session.shard]);
  }

  /** Resolves once a session is live (now or later). */
  waitForGatewayConnected(timeoutMs = 10_000): Promise<true> {
    return this.waitFor(() => this.isGatewayConnected, timeoutMs, 'a live gateway session');
  }

  // ---- set-up ----

  /** Adds a guild; a connected bot gets GUILD_CREATE (as when it joins a server). */
  addGuild(setup: GuildSetup): GuildState {
    const guild = this.state.addGuild(setup);
    this.gateway.dispatch('GUILD_CREATE', this.state.apiGuildCreate(guild), guild.id, GatewayIntent.Guilds);
    return guild;
  }

  /** Removes the bot from a guild (GUILD_DELETE); its channels then answer 50001. */
  removeGuild(guildId: string): void {
    const guild = this.state.requireGuild(guildId);
    guild.removed = true;
    this.gateway.dispatch('GUILD_DELETE', { id: guildId }, guildId, GatewayIntent.Guilds);
  }

  /** Changes a guild's boost tier (and so its upload cap), with GUILD_UPDATE. */
  setPremiumTier(guildId: string, tier: 0 | 1 | 2 | 3): void {
    const guild = this.state.requireGuild(guildId);
    guild.premiumTier = tier;
    this.gateway.dispatch('GUILD_UPDATE', this.state.apiGuild(guild), guildId, GatewayIntent.Guilds);
  }

  /** Adds a channel or thread, with CHANNEL_CREATE / THREAD_CREATE. */
  addChannel(guildId: string, setup: ChannelSetup): ChannelState {
    const channel = this.state.addChannel(guildId, setup);
    const event = isThreadType(channel.type) ? 'THREAD_CREATE' : 'CHANNEL_CREATE';
    const payload = { ...this.state.apiChannel(channel), ...(isThreadType(channel.type) ? { newly_created: true } : {}) };
    this.gateway.dispatch(event, payload, guildId, GatewayIntent.Guilds);
    return channel;
  }

  /** Deletes a channel: later requests to it answer 404 10003. `notify: false` skips CHANNEL_DELETE. */
  deleteChannel(channelId: string, options: { notify?: boolean } = {}): void {
    const channel = this.state.requireChannel(channelId);
    channel.deleted = true;
    if (options.notify === false || channel.guildId === null) return;
    const event = isThreadType(channel.type) ? 'THREAD_DELETE' : 'CHANNEL_DELETE';
    this.gateway.dispatch(event, this.state.apiChannel(channel), channel.guildId, GatewayIntent.Guilds);
  }

  /** Adds a member (GUILD_ROLE_CREATE for a custom-permission role; GUILD_MEMBER_ADD needs GuildMembers). */
  addMember(guildId: string, setup: MemberSetup): void {
    const guild = this.state.requireGuild(guildId);
    const rolesBefore = new Set(guild.roles.keys());
    const member = this.state.addMember(guildId, setup);
    for (const role of guild.roles.values()) {
      if (!rolesBefore.has(role.id)) {
        this.gateway.dispatch('GUILD_ROLE_CREATE', { guild_id: guildId, role: this.state.apiRole(role) }, guildId, GatewayIntent.Guilds);
      }
    }
    this.gateway.dispatch('GUILD_MEMBER_ADD', { ...this.state.apiMember(member), guild_id: guildId }, guildId, 1 << 1);
  }

  /**
   * Sets the bot's effective permissions in one channel (null removes the override), with CHANNEL_UPDATE
   * so discord.js's `permissionsFor(me)` agrees. For threads only the emulator's checks change.
   */
  setBotPermissions(channelId: string, permissions: bigint | null): void {
    const channel = this.state.setBotPermissions(channelId, permissions);
    if (channel.guildId !== null && !isThreadType(channel.type)) {
      this.gateway.dispatch('CHANNEL_UPDATE', this.state.apiChannel(channel), channel.guildId, GatewayIntent.Guilds);
    }
  }

  /** Sets the permissions of the bot's role in a guild, with GUILD_ROLE_UPDATE. */
  setGuildBotPermissions(guildId: string, permissions: bigint): void {
    const guild = this.state.requireGuild(guildId);
    const role = guild.roles.get(guild.botRoleId);
    if (!role) throw new Error(`guild ${guildId} has no bot role`);
    role.permissions = permissions;
    this.gateway.dispatch('GUILD_ROLE_UPDATE', { guild_id: guildId, role: this.state.apiRole(role) }, guildId, GatewayIntent.Guilds);
  }

  /**
   * A message written by a user (e.g. to have other messages around the bot's, or one to use a
   * message command on); `attachments` are served like uploads, at signed URLs.
   */
  postUserMessage(
    channelId: string,
    userId: string,
    content: string,
    options: { attachments?: readonly AttachmentInput[] } = {},
  ): RecordedMessage {
    const channel = this.state.requireChannel(channelId);
    const message = this.state.createMessage({
      channel,
      author: this.state.ensureUser(userId),
      body: { content },
      files: [],
      source: 'user',
      type: 0,
      flags: 0,
      interactionId: null,
      webhookId: null,
      interactionMetadata: null,
      canMentionEveryone: false,
      visibleInChannel: true,
    });
    message.attachments = (options.attachments ?? []).map((input) => {
      const attachment = this.state.attachmentOf(serveAttachment(this.state, input), null);
      return input.width !== undefined ? { ...attachment, width: input.width, height: input.height ?? input.width } : attachment;
    });
    this.onMessage('MESSAGE_CREATE', 'messageCreate', message);
    return message;
  }

  /** Deletes a message as its author or a moderator would (MESSAGE_DELETE); later fetches answer 10008. */
  deleteMessage(messageId: string): void {
    const message = componentMessage(this.state, messageId);
    this.state.deleteMessage(message);
    this.onMessageDeleted(message);
  }

  // ---- interactions ----

  /** Sends a slash command (INTERACTION_CREATE type 2). */
  sendCommand(input: CommandInput): InteractionHandle {
    const built = buildBaseInteraction(this.interactionContext, InteractionKind.ApplicationCommand, input);
    built.payload.data = buildCommandData(this.interactionContext, input, built.guild, built.channel);
    return this.dispatchInteraction(built, input, null);
  }

  /** Sends an autocomplete request (type 4); answer it with `respond()` (callback type 8). */
  sendAutocomplete(input: AutocompleteInput): InteractionHandle {
    const built = buildBaseInteraction(this.interactionContext, InteractionKind.Autocomplete, input);
    built.payload.data = buildCommandData(this.interactionContext, input, built.guild, built.channel, input.focused);
    return this.dispatchInteraction(built, input, null);
  }

  /** Clicks a component of an existing message (type 3); defaults to the message's guild and channel. */
  sendButton(input: ComponentInput): InteractionHandle {
    const message = componentMessage(this.state, input.messageId);
    const target: InteractionTarget = {
      ...input,
      guildId: input.guildId ?? message.guildId ?? undefined,
      channelId: input.channelId ?? message.channelId,
    };
    const built = buildBaseInteraction(this.interactionContext, InteractionKind.MessageComponent, target);
    built.payload.data = {
      custom_id: input.customId,
      component_type: input.componentType ?? 2,
      ...(input.values ? { values: input.values } : {}),
    };
    built.payload.message = this.state.apiMessage(message);
    return this.dispatchInteraction(built, target, message.id);
  }

  /**
   * Uses a message context-menu command (type 2 with `data.type` 3) on an existing message: Discord
   * sends the message in full under `data.resolved.messages`. Defaults to the message's guild and channel.
   */
  sendMessageCommand(input: MessageCommandInput): InteractionHandle {
    const message = componentMessage(this.state, input.messageId);
    if (message.deleted) throw new Error(`message ${input.messageId} is deleted: Discord offers no menu on it`);
    const target: InteractionTarget = {
      ...input,
      guildId: input.guildId ?? message.guildId ?? undefined,
      channelId: input.channelId ?? message.channelId,
    };
    const built = buildBaseInteraction(this.interactionContext, InteractionKind.ApplicationCommand, target);
    built.payload.data = buildMessageCommandData(this.interactionContext, input, built.guild, message);
    return this.dispatchInteraction(built, target, null);
  }

  /**
   * Submits the modal the bot opened in answer to `opened`, as its member would: same guild, channel
   * and user, the modal's `custom_id`, every text input (missing ones empty). Throws where Discord's
   * client would not let the member submit (an unknown field, an empty required one, a length limit).
   */
  submitModal(opened: InteractionHandle, fields: Record<string, string>, overrides: Partial<InteractionTarget> = {}): InteractionHandle {
    const modal = opened.modal;
    if (!modal) throw new Error(`interaction ${opened.id} was not answered with a modal`);
    const inputs = textInputsOf(modal.components);
    for (const id of Object.keys(fields)) {
      if (!inputs.some((i) => i.custom_id === id)) throw new Error(`the modal has no text input ${id}`);
    }
    const values: Record<string, string> = {};
    for (const input of inputs) {
      const value = fields[input.custom_id] ?? '';
      // Text inputs are required unless they say otherwise.
      if (value === '' && input.required !== false) throw new Error(`Discord's client refuses an empty required field ${input.custom_id}`);
      if (value !== '' && typeof input.min_length === 'number' && value.length < input.min_length) {
        throw new Error(`Discord's client refuses ${input.custom_id} shorter than ${input.min_length}`);
      }
      if (typeof input.max_length === 'number' && value.length > input.max_length) {
        throw new Error(`Discord's client refuses ${input.custom_id} longer than ${input.max_length}`);
      }
      values[input.custom_id] = value;
    }
    return this.sendModalSubmit({
      ...(opened.guildId ? { guildId: opened.guildId } : {}),
      channelId: opened.channelId,
      userId: opened.userId,
      locale: typeof opened.payload.locale === 'string' ? opened.payload.locale : 'en-US',
      ...overrides,
      customId: String(modal.custom_id),
      fields: values,
      ...(opened.componentMessageId ? { messageId: opened.componentMessageId } : {}),
    });
  }

  /** Submits a modal (type 5) with text input values by custom id. */
  sendModalSubmit(input: ModalSubmitInput): InteractionHandle {
    const message = input.messageId ? componentMessage(this.state, input.messageId) : undefined;
    const target: InteractionTarget = {
      ...input,
      guildId: input.guildId ?? message?.guildId ?? undefined,
      channelId: input.channelId ?? message?.channelId,
    };
    const built = buildBaseInteraction(this.interactionContext, InteractionKind.ModalSubmit, target);
    built.payload.data = buildModalData(input);
    if (message) built.payload.message = this.state.apiMessage(message);
    return this.dispatchInteraction(built, target, message?.id ?? null);
  }

  /** The handle of an interaction by id. */
  interaction(id: string): InteractionHandle | undefined {
    return this.interactionsById.get(id);
  }

  private dispatchInteraction(built: BuiltInteraction, target: InteractionTarget, componentMessageId: string | null): InteractionHandle {
    if (this.gateway.sessions.size === 0) {
      throw new Error('no gateway session: await emulator.gatewayConnected (or a client ready) before sending interactions');
    }
    const sentAt = this.settings.now();
    const deliveredTo = this.gateway.dispatch('INTERACTION_CREATE', built.payload, built.guild?.id ?? null);
    const handle = new InteractionHandle(
      {
        id: String(built.payload.id),
        token: String(built.payload.token),
        type: Number(built.payload.type),
        payload: built.payload,
        guildId: built.guild?.id ?? null,
        channelId: built.channel.id,
        userId: built.user.id,
        sentAt,
        ackDeadlineMs: target.ackDeadlineMs ?? this.settings.ackDeadlineMs,
        tokenTtlMs: target.tokenTtlMs ?? this.settings.interactionTokenTtlMs,
        attachmentSizeLimit: built.attachmentSizeLimit,
        deliveredTo,
        componentMessageId,
      },
      this.state,
      (predicate, timeoutMs, what) => this.waitFor(predicate, timeoutMs, what),
      this.settings.now,
    );
    this.interactions.push(handle);
    this.interactionsById.set(handle.id, handle);
    this.interactionsByToken.set(handle.token, handle);
    this.events.emit('interactionCreate', handle);
    this.changed();
    return handle;
  }

  // ---- gateway control ----

  /** Closes the bot's WebSocket(s), by default so that discord.js resumes. */
  disconnectClient(options: DisconnectOptions = {}): void {
    this.gateway.disconnectAll(options.code ?? 4000, options.resumable ?? true);
  }

  /** Sends op 7 RECONNECT (discord.js reconnects and resumes). */
  requestReconnect(): void {
    this.gateway.requestReconnect();
  }

  /** Sends op 9 INVALID_SESSION (`false` by default: the client must identify again). */
  invalidateSession(resumable = false): void {
    this.gateway.invalidateSessions(resumable);
  }

  /** Drops the bot's WebSocket(s) with no close frame (the client sees 1006); sessions stay resumable. */
  dropConnection(): void {
    this.gateway.dropConnections();
  }

  /**
   * Leaves IDENTIFY and RESUME unanswered until the returned function is called (it answers them),
   * so a test can look at the bot while it is reconnecting. Keep it under discord.js's 15 s ready timeout.
   */
  holdHandshakes(): () => void {
    this.gateway.holdHandshakes();
    return () => this.gateway.releaseHandshakes();
  }

  /** Gateway frames the bot sent with opcode `op` (e.g. 2 IDENTIFY, 6 RESUME), oldest first. */
  framesReceived(op: number): GatewayFrame[] {
    return this.frames.filter((f) => f.direction === 'in' && f.op === op);
  }

  // ---- observation ----

  /** Visible messages of a channel, oldest first (interaction responses included, ephemeral ones not). */
  channelMessages(channelId: string): RecordedMessage[] {
    return this.state.channelMessages(channelId);
  }

  /** Any stored message by id (ephemeral and deleted ones included). */
  message(id: string): RecordedMessage | undefined {
    return this.state.messages.get(id);
  }

  /** Registered application commands: global, or of one guild. */
  registeredCommands(guildId?: string): Record<string, unknown>[] {
    return [...(this.state.commands.get(guildId ?? 'global')?.values() ?? [])];
  }

  /** The bytes the emulator serves for an attachment id (uploads and interaction inputs). */
  fileBytes(attachmentId: string): Buffer | undefined {
    const file = this.state.files.get(attachmentId);
    return file ? fileContent(file) : undefined;
  }

  /** Requests matching a route name such as `POST /channels/:channelId/messages`. */
  requestsTo(route: string): RecordedRequest[] {
    return this.requests.filter((r) => r.route === route);
  }

  /** Forgets recorded requests and frames (e.g. between benchmark phases). */
  clearRecords(): void {
    this.requests.length = 0;
    this.frames.length = 0;
  }

  /**
   * Resolves with the first value `predicate` returns that is not undefined/null/false; it is checked
   * now and after every change (request, frame, message, callback). Rejects after `timeoutMs`.
   */
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const finish = (): void => {
        done = true;
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const check = (): void => {
        if (done) return;
        let value: T | undefined | null | false;
        try {
          value = predicate();
        } catch (error) {
          finish();
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        if (value !== undefined && value !== null && value !== false) {
          finish();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`discord emulator: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves with the first visible message in the channel matching `predicate` (already there or to come). */
  waitForMessage(
    channelId: string,
    predicate: (message: RecordedMessage) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<RecordedMessage> {
    return this.waitFor(() => this.state.channelMessages(channelId).find(predicate), timeoutMs, `a message in channel ${channelId}`);
  }

  /** Resolves with the first recorded request matching `predicate`. */
  waitForRequest(predicate: (request: RecordedRequest) => boolean, timeoutMs = 5000): Promise<RecordedRequest> {
    return this.waitFor(() => this.requests.find(predicate), timeoutMs, 'a matching request');
  }

  // ---- fault injection ----

  /** The next matching request(s) (path after `/api/v10` starts with `routePrefix`) get a 429. */
  rateLimitNext(routePrefix: string, options: RateLimitInjection): void {
    this.rest.rateLimitNext(routePrefix, options);
  }

  /** The next matching request(s) get an error answer (500 by default). */
  failNext(routePrefix: string, options?: FailureInjection): void {
    this.rest.failNext(routePrefix, options);
  }

  /** The next matching request(s) are answered `ms` later. */
  delayNext(routePrefix: string, ms: number, options?: { method?: string; count?: number }): void {
    this.rest.delayNext(routePrefix, ms, options);
  }

  /** Stops the server and drops every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.gateway.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onMessageDeleted(message: RecordedMessage): void {
    this.dispatchForChannel(
      'MESSAGE_DELETE',
      { id: message.id, channel_id: message.channelId, ...(message.guildId ? { guild_id: message.guildId } : {}) },
      message.channelId,
    );
    this.events.emit('messageDelete', message);
    this.changed();
  }

  private changed(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private onMessage(event: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE', name: 'messageCreate' | 'messageUpdate', message: RecordedMessage): void {
    const payload: Record<string, unknown> = { ...this.state.apiMessage(message) };
    if (message.guildId) {
      payload.guild_id = message.guildId;
      const member = this.state.guilds.get(message.guildId)?.members.get(message.authorId);
      if (member) {
        const memberPayload = this.state.apiMember(member);
        delete memberPayload.user;
        payload.member = memberPayload;
      }
    }
    this.dispatchForChannel(event, payload, message.channelId);
    this.events.emit(name, message);
    this.changed();
  }

  /** Message events need GuildMessages (guilds) or DirectMessages (DMs), like on Discord. */
  private dispatchForChannel(event: string, payload: Record<string, unknown>, channelId: string): void {
    const channel = this.state.channels.get(channelId);
    const guildId = channel?.guildId ?? null;
    const intent = guildId ? GatewayIntent.GuildMessages : GatewayIntent.DirectMessages;
    this.gateway.dispatch(event, payload, guildId, intent);
  }
}

interface TextInputDef {
  custom_id: string;
  required?: boolean;
  min_length?: number;
  max_length?: number;
}

/** The text inputs (type 4) of a modal, in action rows or labels. */
function textInputsOf(components: unknown): TextInputDef[] {
  if (!Array.isArray(components)) return [];
  const found: TextInputDef[] = [];
  for (const raw of components) {
    if (typeof raw !== 'object' || raw === null) continue;
    const component = raw as Record<string, unknown>;
    if (component.type === 4 && typeof component.custom_id === 'string') found.push(component as unknown as TextInputDef);
    found.push(...textInputsOf(component.components), ...textInputsOf(component.component ? [component.component] : []));
  }
  return found;
}

/** Starts a local Discord on 127.0.0.1: REST under `apiUrl`, gateway at `gatewayUrl`, files under `baseUrl`. */
export function startDiscordEmulator(options: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
  return DiscordEmulator.start(options);
}
