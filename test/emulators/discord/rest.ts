import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { commandIssues } from './commands.js';
import { DiscordHttpError, discordErrors } from './errors.js';
import { parseBody, readRawBody, sendJson, sendNoContent } from './http.js';
import type { ParsedBody, UploadedFile } from './http.js';
import type { InteractionHandle } from './interaction-handle.js';
import { fileContent } from './files.js';
import { assertCallbackAllowed, assertChoices, assertModal } from './callbacks.js';
import { CallbackKind, InteractionKind } from './interactions.js';
import type { FileInfo, RecordedCallback, RecordedWebhookCall } from './interactions.js';
import { parseMessageBody } from './messages.js';
import type { MessageBody } from './messages.js';
import { PermissionBits, hasPermissions } from './permissions.js';
import { assertChannelUsable, isThreadType } from './state.js';
import type { ChannelState, EmulatorState, RecordedMessage } from './state.js';

/** One REST (or attachment) request the emulator answered. */
export interface RecordedRequest {
  seq: number;
  at: number;
  method: string;
  /** Percent-decoded path without the `/api/v10` prefix (attachments keep their full path). */
  path: string;
  query: string;
  /** The matched route, e.g. `POST /channels/:channelId/messages`; `unmatched` when none. */
  route: string;
  /** `Authorization: Bot <the expected token>` was present. */
  authorized: boolean;
  /** The JSON body (multipart: `payload_json` merged with the other text fields). */
  body: Record<string, unknown> | unknown[] | undefined;
  files: FileInfo[];
  status: number;
  /** Discord's JSON error code of an error answer. */
  errorCode: number | null;
  /** Set when an injected failure or rate limit answered this request. */
  injected: 'rate-limit' | 'failure' | null;
  durationMs: number;
}

/** Options of `rateLimitNext`. */
export interface RateLimitInjection {
  /** Seconds the client must wait; sent as-is (fractions keep tests fast; Discord rounds the header up). */
  retryAfterS: number;
  /** A global rate limit (`x-ratelimit-global`). */
  global?: boolean;
  scope?: 'user' | 'global' | 'shared';
  /** Only requests with this method. */
  method?: string;
  /** How many matching requests get the 429 (default 1). */
  count?: number;
}

/** Options of `failNext`. */
export interface FailureInjection {
  /** HTTP status; 500 by default (note: @discordjs/rest retries 5xx up to 3 times). */
  status?: number;
  /** JSON error code (0 by default). */
  code?: number;
  message?: string;
  method?: string;
  count?: number;
}

interface InjectionRule {
  prefix: string;
  method: string | undefined;
  remaining: number;
  action:
    { kind: 'rate-limit'; options: RateLimitInjection } | { kind: 'failure'; options: FailureInjection } | { kind: 'delay'; ms: number };
}

/** What the REST layer needs from the emulator. */
export interface RestHooks {
  state: EmulatorState;
  token: string;
  now: () => number;
  gatewayUrl: () => string;
  shardCount: number;
  firstFollowUpEditsDeferred: boolean;
  interactionById: (id: string) => InteractionHandle | undefined;
  interactionByToken: (token: string) => InteractionHandle | undefined;
  requestRecorded: (request: RecordedRequest) => void;
  messageCreated: (message: RecordedMessage) => void;
  messageUpdated: (message: RecordedMessage) => void;
  messageDeleted: (message: RecordedMessage) => void;
  callbackRecorded: (handle: InteractionHandle, callback: RecordedCallback) => void;
  webhookRecorded: (handle: InteractionHandle, call: RecordedWebhookCall) => void;
  commandsChanged: (scope: string) => void;
  /** The bot left a guild itself (`DELETE /users/@me/guilds/:id`): the emulator sends GUILD_DELETE. */
  guildLeft: (guildId: string) => void;
}

interface RestContext {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: ParsedBody;
  headers: IncomingHttpHeaders;
}

interface RestResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Route {
  method: string;
  segments: string[];
  auth: boolean;
  name: string;
  handler: (ctx: RestContext) => RestResult | Promise<RestResult>;
}

const API_PREFIX = '/api/v10';
const EPHEMERAL = 64;
const LOADING = 128;
/** Flags a message may be created with: SUPPRESS_EMBEDS, EPHEMERAL, SUPPRESS_NOTIFICATIONS, IS_COMPONENTS_V2. */
const CREATABLE_FLAGS = 4 | 64 | 4096 | 32768;

/** Discord's REST API (under `/api/v10`) plus the attachment CDN (`/attachments/…`) on one HTTP handler. */
export class RestServer {
  private readonly routes: Route[] = [];
  private readonly injections: InjectionRule[] = [];
  private seq = 0;

  constructor(private readonly hooks: RestHooks) {
    this.registerRoutes();
  }

  /** Answers the next `count` requests whose path starts with `prefix` with a 429. */
  rateLimitNext(prefix: string, options: RateLimitInjection): void {
    this.injections.push({
      prefix,
      method: options.method?.toUpperCase(),
      remaining: options.count ?? 1,
      action: { kind: 'rate-limit', options },
    });
  }

  /** Answers the next `count` requests whose path starts with `prefix` with an error. */
  failNext(prefix: string, options: FailureInjection = {}): void {
    this.injections.push({
      prefix,
      method: options.method?.toUpperCase(),
      remaining: options.count ?? 1,
      action: { kind: 'failure', options },
    });
  }

  /** Delays the answers to the next `count` requests whose path starts with `prefix`. */
  delayNext(prefix: string, ms: number, options: { method?: string; count?: number } = {}): void {
    this.injections.push({
      prefix,
      method: options.method?.toUpperCase(),
      remaining: options.count ?? 1,
      action: { kind: 'delay', ms },
    });
  }

  /** The node:http request listener. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = this.hooks.now();
    const startedReal = performance.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const record: RecordedRequest = {
      seq: ++this.seq,
      at: started,
      method,
      path: safeDecode(url.pathname),
      query: url.search,
      route: 'unmatched',
      authorized: req.headers.authorization === `Bot ${this.hooks.token}`,
      body: undefined,
      files: [],
      status: 0,
      errorCode: null,
      injected: null,
      durationMs: 0,
    };
    try {
      const raw = await readRawBody(req);
      if (url.pathname.startsWith('/attachments/')) {
        record.route = `${method} /attachments/:id/:filename`;
        this.serveAttachment(method, url, res, record);
        return;
      }
      if (!url.pathname.startsWith(`${API_PREFIX}/`)) throw discordErrors.notFound();
      // @discordjs/rest percent-encodes path segments (`@original` arrives as `%40original`).
      const segments = url.pathname
        .slice(API_PREFIX.length + 1)
        .split('/')
        .map(safeDecode);
      record.path = `/${segments.join('/')}`;
      const match = this.match(method, segments);
      if (!match) throw discordErrors.notFound();
      record.route = match.route.name;
      const body = await parseBody(raw, req.headers['content-type']);
      record.body = body.json ?? body.list;
      record.files = body.files.map(fileInfo);
      const injected = await this.applyInjections(method, record.path);
      if (injected) {
        record.injected = injected.kind;
        this.finish(res, record, injected.result, startedReal);
        return;
      }
      if (match.route.auth && !record.authorized) throw discordErrors.unauthorized();
      const result = await match.route.handler({
        method,
        params: match.params,
        query: url.searchParams,
        body,
        headers: req.headers,
      });
      this.finish(res, record, result, startedReal);
    } catch (error) {
      const failure =
        error instanceof DiscordHttpError
          ? error
          : new DiscordHttpError(500, 0, `500: Internal Server Error (${error instanceof Error ? error.message : String(error)})`);
      this.finish(res, record, { status: failure.status, body: failure.toBody() }, startedReal);
    }
  }

  private finish(res: ServerResponse, record: RecordedRequest, result: RestResult, startedReal: number): void {
    record.status = result.status;
    const body = result.body;
    if (result.status >= 400 && typeof body === 'object' && body !== null && 'code' in body) {
      record.errorCode = Number(body.code);
    }
    record.durationMs = performance.now() - startedReal;
    if (!res.headersSent) {
      if (result.status === 204) sendNoContent(res);
      else sendJson(res, result.status, body ?? {}, result.headers);
    }
    this.hooks.requestRecorded(record);
  }

  private match(method: string, segments: string[]): { route: Route; params: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segments.length; i++) {
        const pattern = route.segments[i] ?? '';
        const actual = segments[i] ?? '';
        if (pattern.startsWith(':')) params[pattern.slice(1)] = actual;
        else if (pattern !== actual) {
          ok = false;
          break;
        }
      }
      if (ok) return { route, params };
    }
    return undefined;
  }

  private async applyInjections(method: string, path: string): Promise<{ kind: 'rate-limit' | 'failure'; result: RestResult } | undefined> {
    for (const rule of [...this.injections]) {
      if (rule.remaining <= 0 || !path.startsWith(rule.prefix) || (rule.method && rule.method !== method)) continue;
      rule.remaining -= 1;
      if (rule.remaining <= 0) this.injections.splice(this.injections.indexOf(rule), 1);
      const { action } = rule;
      if (action.kind === 'delay') {
        await sleep(action.ms);
        continue;
      }
      if (action.kind === 'failure') {
        const status = action.options.status ?? 500;
        return {
          kind: 'failure',
          result: {
            status,
            body: { message: action.options.message ?? `${status}: injected failure`, code: action.options.code ?? 0 },
          },
        };
      }
      const { retryAfterS, global = false } = action.options;
      const scope = action.options.scope ?? (global ? 'global' : 'user');
      const headers: Record<string, string> = {
        'retry-after': String(retryAfterS),
        'x-ratelimit-scope': scope,
      };
      if (global) {
        headers['x-ratelimit-global'] = 'true';
      } else {
        headers['x-ratelimit-limit'] = '5';
        headers['x-ratelimit-remaining'] = '0';
        headers['x-ratelimit-reset'] = String((this.hooks.now() / 1000 + retryAfterS).toFixed(3));
        headers['x-ratelimit-reset-after'] = String(retryAfterS);
        headers['x-ratelimit-bucket'] = `emulated-${rule.prefix.replace(/[^a-z0-9]/gi, '')}`.slice(0, 40);
      }
      return {
        kind: 'rate-limit',
        result: {
          status: 429,
          headers,
          body: { message: 'You are being rate limited.', retry_after: retryAfterS, global, code: 0 },
        },
      };
    }
    return undefined;
  }

  private serveAttachment(method: string, url: URL, res: ServerResponse, record: RecordedRequest): void {
    const fileId = url.pathname.split('/')[2] ?? '';
    const file = method === 'GET' || method === 'HEAD' ? this.hooks.state.verifyUrl(fileId, url.searchParams) : undefined;
    if (!file) {
      record.status = 404;
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('This content is no longer available.');
      this.hooks.requestRecorded(record);
      return;
    }
    const bytes = fileContent(file);
    record.status = 200;
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': bytes.length });
    res.end(method === 'HEAD' ? undefined : bytes);
    this.hooks.requestRecorded(record);
  }

  private add(method: string, path: string, auth: boolean, handler: Route['handler']): void {
    this.routes.push({ method, segments: path.split('/').filter(Boolean), auth, name: `${method} ${path}`, handler });
  }

  private registerRoutes(): void {
    const { state } = this.hooks;
    this.add('GET', '/gateway', false, () => ({ status: 200, body: { url: this.hooks.gatewayUrl() } }));
    this.add('GET', '/gateway/bot', true, () => ({
      status: 200,
      body: {
        url: this.hooks.gatewayUrl(),
        shards: this.hooks.shardCount,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
      },
    }));
    this.add('GET', '/users/@me', true, () => ({
      status: 200,
      body: { ...state.apiUser(state.bot), verified: true, mfa_enabled: false, email: null, locale: 'en-US' },
    }));
    this.add('GET', '/users/:userId', true, ({ params }) => {
      const user = state.users.get(params.userId ?? '');
      if (!user) throw discordErrors.unknownUser();
      return { status: 200, body: state.apiUser(user) };
    });
    this.add('DELETE', '/users/@me/guilds/:guildId', true, ({ params }) => {
      const guild = state.guilds.get(params.guildId ?? '');
      if (!guild || guild.removed) throw discordErrors.unknownGuild();
      this.hooks.guildLeft(guild.id);
      return { status: 204 };
    });
    this.add('POST', '/users/@me/channels', true, ({ body }) => {
      const recipientId = body.json?.recipient_id;
      if (typeof recipientId !== 'string' || !state.users.has(recipientId)) throw discordErrors.unknownUser();
      return { status: 200, body: state.apiChannel(state.dmChannelFor(recipientId)) };
    });
    const application = (): RestResult => ({
      status: 200,
      body: {
        id: state.bot.id,
        name: state.bot.username,
        icon: null,
        description: '',
        summary: '',
        type: null,
        bot: state.apiUser(state.bot),
        bot_public: true,
        bot_require_code_grant: false,
        verify_key: '0'.repeat(64),
        flags: 0,
        team: null,
        owner: { id: '0', username: 'owner', discriminator: '0', global_name: null, avatar: null, flags: 0 },
        approximate_guild_count: [...state.guilds.values()].filter((g) => !g.removed).length,
        integration_types_config: { '0': {} },
      },
    });
    this.add('GET', '/applications/@me', true, application);
    this.add('GET', '/oauth2/applications/@me', true, application);

    for (const scoped of [false, true]) {
      const base = scoped ? '/applications/:appId/guilds/:guildId/commands' : '/applications/:appId/commands';
      this.add('GET', base, true, (ctx) => ({ status: 200, body: this.commandList(this.commandScope(ctx.params)) }));
      this.add('PUT', base, true, (ctx) => this.putCommands(ctx));
      this.add('POST', base, true, (ctx) => this.postCommand(ctx));
      this.add('GET', `${base}/:commandId`, true, (ctx) => ({ status: 200, body: this.findCommand(ctx).command }));
      this.add('PATCH', `${base}/:commandId`, true, (ctx) => this.patchCommand(ctx));
      this.add('DELETE', `${base}/:commandId`, true, (ctx) => {
        const { scope, key } = this.findCommand(ctx);
        state.commands.get(scope)?.delete(key);
        this.hooks.commandsChanged(scope);
        return { status: 204 };
      });
    }

    this.add('GET', '/guilds/:guildId', true, ({ params }) => ({ status: 200, body: state.apiGuild(this.guild(params)) }));
    this.add('GET', '/guilds/:guildId/channels', true, ({ params }) => {
      const guild = this.guild(params);
      const channels = guild.channelIds.map((id) => state.channels.get(id)).filter((c) => c && !c.deleted && !isThreadType(c.type));
      return { status: 200, body: channels.map((c) => state.apiChannel(c as ChannelState)) };
    });
    this.add('GET', '/guilds/:guildId/roles', true, ({ params }) => ({
      status: 200,
      body: [...this.guild(params).roles.values()].map((r) => state.apiRole(r)),
    }));
    this.add('GET', '/guilds/:guildId/members/:userId', true, ({ params }) => {
      const member = this.guild(params).members.get(params.userId ?? '');
      if (!member) throw discordErrors.unknownMember();
      return { status: 200, body: state.apiMember(member) };
    });

    this.add('GET', '/channels/:channelId', true, ({ params }) => {
      const channel = this.visibleChannel(params.channelId);
      return { status: 200, body: state.apiChannel(channel) };
    });
    this.add('GET', '/channels/:channelId/messages', true, (ctx) => this.listMessages(ctx));
    this.add('POST', '/channels/:channelId/messages', true, (ctx) => this.createChannelMessage(ctx));
    this.add('GET', '/channels/:channelId/messages/:messageId', true, ({ params }) => {
      const channel = this.visibleChannel(params.channelId);
      if (!hasPermissions(state.channelPermissions(channel, state.bot.id), PermissionBits.ReadMessageHistory)) {
        throw discordErrors.missingPermissions();
      }
      return { status: 200, body: state.apiMessage(this.channelMessage(channel, params.messageId)) };
    });
    this.add('PATCH', '/channels/:channelId/messages/:messageId', true, (ctx) => this.editChannelMessage(ctx));
    this.add('DELETE', '/channels/:channelId/messages/:messageId', true, ({ params }) => {
      const channel = this.visibleChannel(params.channelId);
      const message = this.channelMessage(channel, params.messageId);
      const canManage = hasPermissions(state.channelPermissions(channel, state.bot.id), PermissionBits.ManageMessages);
      if (message.authorId !== state.bot.id && !canManage) throw discordErrors.missingPermissions();
      state.deleteMessage(message);
      this.hooks.messageDeleted(message);
      return { status: 204 };
    });

    this.add('POST', '/attachments/refresh-urls', true, ({ body }) => {
      const urls = Array.isArray(body.json?.attachment_urls) ? body.json.attachment_urls.map(String) : [];
      return {
        status: 200,
        body: {
          refreshed_urls: urls.map((original) => {
            const fileId = /\/attachments\/(\d+)\//.exec(original)?.[1];
            const file = fileId ? state.files.get(fileId) : undefined;
            return { original, refreshed: file ? state.signedUrl(file) : original };
          }),
        },
      };
    });

    this.add('POST', '/interactions/:interactionId/:token/callback', false, (ctx) => this.interactionCallback(ctx));
    this.add('POST', '/webhooks/:appId/:token', false, (ctx) => this.webhookCall(ctx, 'followup'));
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      this.add(method, '/webhooks/:appId/:token/messages/:messageId', false, (ctx) => this.webhookCall(ctx, ctx.params.messageId ?? ''));
    }
  }

  // ---- guilds & channels ----

  private guild(params: Record<string, string>) {
    const guild = this.hooks.state.guilds.get(params.guildId ?? '');
    if (!guild || guild.removed) throw discordErrors.unknownGuild();
    return guild;
  }

  /** A channel the bot can see: 10003 when gone, 50001 without ViewChannel. */
  private visibleChannel(channelId: string | undefined): ChannelState {
    const { state } = this.hooks;
    const channel = assertChannelUsable(state.channels.get(channelId ?? ''), state);
    if (!hasPermissions(state.channelPermissions(channel, state.bot.id), PermissionBits.ViewChannel)) {
      throw discordErrors.missingAccess();
    }
    return channel;
  }

  private channelMessage(channel: ChannelState, messageId: string | undefined): RecordedMessage {
    const message = this.hooks.state.messages.get(messageId ?? '');
    if (!message || message.deleted || message.channelId !== channel.id || (message.flags & EPHEMERAL) !== 0) {
      throw discordErrors.unknownMessage();
    }
    return message;
  }

  private listMessages({ params, query }: RestContext): RestResult {
    const { state } = this.hooks;
    const channel = this.visibleChannel(params.channelId);
    const limitText = query.get('limit');
    const limit = limitText === null ? 50 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw discordErrors.invalidFormBody([
        { path: ['limit'], code: 'NUMBER_TYPE_MAX', message: 'int value should be between 1 and 100.' },
      ]);
    }
    // Without ReadMessageHistory Discord answers an empty list, not an error.
    if (!hasPermissions(state.channelPermissions(channel, state.bot.id), PermissionBits.ReadMessageHistory)) {
      return { status: 200, body: [] };
    }
    const all = state.channelMessages(channel.id);
    const before = query.get('before');
    const after = query.get('after');
    const around = query.get('around');
    let selected: RecordedMessage[];
    if (after) {
      selected = all
        .filter((m) => BigInt(m.id) > BigInt(after))
        .slice(0, limit)
        .reverse();
    } else if (around) {
      const index = all.findIndex((m) => BigInt(m.id) >= BigInt(around));
      const start = Math.max(0, (index === -1 ? all.length : index) - Math.floor(limit / 2));
      selected = all.slice(start, start + limit).reverse();
    } else {
      const upTo = before ? all.filter((m) => BigInt(m.id) < BigInt(before)) : all;
      selected = upTo.slice(-limit).reverse();
    }
    return { status: 200, body: selected.map((m) => state.apiMessage(m)) };
  }

  private createChannelMessage({ params, body }: RestContext): RestResult {
    const { state } = this.hooks;
    const channel = this.visibleChannel(params.channelId);
    const permissions = state.channelPermissions(channel, state.bot.id);
    const sendBit = isThreadType(channel.type) ? PermissionBits.SendMessagesInThreads : PermissionBits.SendMessages;
    if (!hasPermissions(permissions, sendBit)) throw discordErrors.missingPermissions();
    if (body.files.length > 0 && !hasPermissions(permissions, PermissionBits.AttachFiles)) {
      throw discordErrors.missingPermissions();
    }
    const message = parseMessageBody(body.json);
    if (message.enforce_nonce && message.nonce !== undefined && message.nonce !== null) {
      // Discord: a repeated nonce within a few minutes returns the first message instead of a new one.
      const existing = state.findEnforcedNonce(channel.id, message.nonce);
      if (existing) return { status: 200, body: state.apiMessage(existing) };
    }
    assertNotEmpty(message, body.files);
    assertUploadLimit(body.files, state.uploadLimitFor(channel));
    // Without EmbedLinks the message is sent but its embeds are dropped.
    const embedsAllowed = hasPermissions(permissions, PermissionBits.EmbedLinks);
    const created = state.createMessage({
      channel,
      author: state.bot,
      body: embedsAllowed ? message : { ...message, embeds: [] },
      files: body.files,
      source: 'channel',
      type: message.message_reference ? 19 : 0,
      flags: (message.flags ?? 0) & (4 | 4096 | 32768),
      interactionId: null,
      webhookId: null,
      interactionMetadata: null,
      canMentionEveryone: hasPermissions(permissions, PermissionBits.MentionEveryone),
      visibleInChannel: true,
    });
    this.hooks.messageCreated(created);
    return { status: 200, body: state.apiMessage(created) };
  }

  private editChannelMessage({ params, body }: RestContext): RestResult {
    const { state } = this.hooks;
    const channel = this.visibleChannel(params.channelId);
    const message = this.channelMessage(channel, params.messageId);
    if (message.authorId !== state.bot.id) throw discordErrors.cannotEditOthers();
    const parsed = parseMessageBody(body.json);
    assertUploadLimit(body.files, state.uploadLimitFor(channel));
    assertEditNotEmpty(message, parsed, body.files);
    state.editMessage(message, parsed, body.files, body.json ?? {});
    this.hooks.messageUpdated(message);
    return { status: 200, body: state.apiMessage(message) };
  }

  // ---- commands ----

  private commandScope(params: Record<string, string>): string {
    if (params.appId !== this.hooks.state.bot.id) throw discordErrors.missingAccess();
    if (params.guildId === undefined) return 'global';
    const guild = this.hooks.state.guilds.get(params.guildId);
    if (!guild || guild.removed) throw discordErrors.missingAccess();
    return guild.id;
  }

  private commandList(scope: string): Record<string, unknown>[] {
    return [...(this.hooks.state.commands.get(scope)?.values() ?? [])];
  }

  private storeCommand(scope: string, raw: Record<string, unknown>, previous?: Record<string, unknown>): Record<string, unknown> {
    const { state } = this.hooks;
    const type = typeof raw.type === 'number' ? raw.type : 1;
    const key = `${type}:${String(raw.name)}`;
    const byKey = state.commands.get(scope) ?? new Map<string, Record<string, unknown>>();
    const existing = previous ?? byKey.get(key);
    const command: Record<string, unknown> = {
      default_member_permissions: null,
      name_localizations: null,
      description_localizations: null,
      contexts: null,
      integration_types: [0],
      nsfw: false,
      options: [],
      description: '',
      ...(existing ?? {}),
      ...raw,
      type,
      id: existing?.id ?? state.options.nextId(),
      application_id: state.bot.id,
      version: state.options.nextId(),
      ...(scope === 'global' ? {} : { guild_id: scope }),
    };
    byKey.set(key, command);
    state.commands.set(scope, byKey);
    return command;
  }

  private putCommands({ params, body }: RestContext): RestResult {
    const scope = this.commandScope(params);
    const list = body.list ?? [];
    const issues = commandIssues(list);
    if (issues.length > 0) throw discordErrors.invalidFormBody(issues);
    const previous = new Map(this.hooks.state.commands.get(scope) ?? []);
    this.hooks.state.commands.set(scope, new Map());
    const stored = list.map((item) => {
      const record = item as Record<string, unknown>;
      const key = `${typeof record.type === 'number' ? record.type : 1}:${String(record.name)}`;
      return this.storeCommand(scope, record, previous.get(key));
    });
    this.hooks.commandsChanged(scope);
    return { status: 200, body: stored };
  }

  private postCommand({ params, body }: RestContext): RestResult {
    const scope = this.commandScope(params);
    const record = body.json ?? {};
    const issues = commandIssues([record]);
    if (issues.length > 0) throw discordErrors.invalidFormBody(issues);
    const key = `${typeof record.type === 'number' ? record.type : 1}:${String(record.name)}`;
    const isNew = !this.hooks.state.commands.get(scope)?.has(key);
    const stored = this.storeCommand(scope, record);
    this.hooks.commandsChanged(scope);
    return { status: isNew ? 201 : 200, body: stored };
  }

  private findCommand({ params }: RestContext): { scope: string; key: string; command: Record<string, unknown> } {
    const scope = this.commandScope(params);
    for (const [key, command] of this.hooks.state.commands.get(scope) ?? []) {
      if (command.id === params.commandId) return { scope, key, command };
    }
    throw discordErrors.unknownCommand();
  }

  private patchCommand(ctx: RestContext): RestResult {
    const { scope, key, command } = this.findCommand(ctx);
    const merged = { ...command, ...(ctx.body.json ?? {}) };
    const issues = commandIssues([merged]);
    if (issues.length > 0) throw discordErrors.invalidFormBody(issues);
    this.hooks.state.commands.get(scope)?.delete(key);
    const stored = this.storeCommand(scope, merged, command);
    this.hooks.commandsChanged(scope);
    return { status: 200, body: stored };
  }

  // ---- interactions ----

  private interactionCallback({ params, query, body }: RestContext): RestResult {
    const { state } = this.hooks;
    const handle = this.hooks.interactionById(params.interactionId ?? '');
    const json = body.json ?? {};
    const type = typeof json.type === 'number' ? json.type : null;
    const data = typeof json.data === 'object' && json.data !== null ? (json.data as Record<string, unknown>) : undefined;
    const withResponse = query.get('with_response') === 'true';
    const record: RecordedCallback = {
      at: this.hooks.now(),
      type,
      data,
      files: body.files.map(fileInfo),
      withResponse,
      status: 0,
      errorCode: null,
    };
    try {
      if (!handle || handle.token !== params.token) throw discordErrors.unknownInteraction();
      if (handle.acked) throw discordErrors.alreadyAcknowledged();
      // Discord: an interaction not answered within 3 s is gone (10062 Unknown interaction).
      if (record.at - handle.sentAt > handle.ackDeadlineMs) throw discordErrors.unknownInteraction();
      assertCallbackAllowed(handle, type);
      let message: RecordedMessage | undefined;
      if (type === CallbackKind.ChannelMessageWithSource || type === CallbackKind.DeferredChannelMessageWithSource) {
        const parsed = parseMessageBody(data);
        const deferred = type === CallbackKind.DeferredChannelMessageWithSource;
        if (!deferred) assertNotEmpty(parsed, body.files);
        assertUploadLimit(body.files, handle.attachmentSizeLimit);
        const flags = ((parsed.flags ?? 0) & CREATABLE_FLAGS) | (deferred ? LOADING : 0);
        message = state.createMessage({
          channel: state.requireChannel(handle.channelId),
          author: state.bot,
          body: deferred ? { flags: parsed.flags } : parsed,
          files: deferred ? [] : body.files,
          source: 'interaction',
          type: handle.type === InteractionKind.ApplicationCommand ? 20 : 0,
          flags,
          interactionId: handle.id,
          webhookId: state.bot.id,
          interactionMetadata: this.interactionMetadata(handle),
          canMentionEveryone: true,
          visibleInChannel: (flags & EPHEMERAL) === 0,
        });
        handle.originalMessageId = message.id;
      } else if (type === CallbackKind.DeferredUpdateMessage || type === CallbackKind.UpdateMessage) {
        message = handle.componentMessageId ? state.messages.get(handle.componentMessageId) : undefined;
        if (!message) throw discordErrors.unknownMessage();
        if (type === CallbackKind.UpdateMessage) {
          const parsed = parseMessageBody(data);
          assertUploadLimit(body.files, handle.attachmentSizeLimit);
          state.editMessage(message, parsed, body.files, data ?? {});
        }
        handle.originalMessageId = message.id;
      } else if (type === CallbackKind.AutocompleteResult) {
        assertChoices(data);
      } else if (type === CallbackKind.Modal) {
        assertModal(data);
      }
      handle.ackedAt = record.at;
      handle.ackType = type;
      if (message) {
        if (type === CallbackKind.UpdateMessage) this.hooks.messageUpdated(message);
        else if (type !== CallbackKind.DeferredUpdateMessage && (message.flags & EPHEMERAL) === 0) {
          this.hooks.messageCreated(message);
        }
      }
      record.status = withResponse ? 200 : 204;
      if (!withResponse) return { status: 204 };
      return {
        status: 200,
        body: {
          interaction: {
            id: handle.id,
            type: handle.type,
            response_message_id: message?.id ?? null,
            response_message_loading: message ? (message.flags & LOADING) !== 0 : null,
            response_message_ephemeral: message ? (message.flags & EPHEMERAL) !== 0 : null,
          },
          resource: { type, ...(message ? { message: state.apiMessage(message) } : {}) },
        },
      };
    } catch (error) {
      if (error instanceof DiscordHttpError) {
        record.status = error.status;
        record.errorCode = error.code;
      }
      throw error;
    } finally {
      if (handle) {
        handle.callbacks.push(record);
        this.hooks.callbackRecorded(handle, record);
      }
    }
  }

  private interactionMetadata(handle: InteractionHandle): Record<string, unknown> {
    const user = this.hooks.state.users.get(handle.userId);
    return {
      id: handle.id,
      type: handle.type,
      user: user ? this.hooks.state.apiUser(user) : null,
      authorizing_integration_owners: handle.payload.authorizing_integration_owners,
    };
  }

  private webhookCall(ctx: RestContext, target: string): RestResult {
    const { state } = this.hooks;
    const { params, body, method, query } = ctx;
    const handle = this.hooks.interactionByToken(params.token ?? '');
    const call: RecordedWebhookCall = {
      at: this.hooks.now(),
      method,
      target,
      body: body.json,
      files: body.files.map(fileInfo),
      status: 0,
      errorCode: null,
      messageId: null,
    };
    try {
      if (params.appId !== state.bot.id) throw discordErrors.unknownWebhook();
      // Interaction tokens are valid for 15 minutes; after that Discord answers 50027.
      if (!handle || handle.tokenExpired) throw discordErrors.invalidWebhookToken();
      if (!handle.acked) throw discordErrors.unknownWebhook();
      const result = target === 'followup' ? this.followUp(handle, body, query) : this.webhookMessage(handle, ctx, target);
      call.status = result.status;
      call.messageId = result.messageId;
      return result;
    } catch (error) {
      if (error instanceof DiscordHttpError) {
        call.status = error.status;
        call.errorCode = error.code;
      }
      throw error;
    } finally {
      if (handle) {
        handle.webhookCalls.push(call);
        this.hooks.webhookRecorded(handle, call);
      }
    }
  }

  private followUp(handle: InteractionHandle, body: ParsedBody, query: URLSearchParams): RestResult & { messageId: string } {
    const { state } = this.hooks;
    const parsed = parseMessageBody(body.json);
    assertNotEmpty(parsed, body.files);
    assertUploadLimit(body.files, handle.attachmentSizeLimit);
    const original = handle.original;
    let message: RecordedMessage;
    if (
      this.hooks.firstFollowUpEditsDeferred &&
      handle.ackType === CallbackKind.DeferredChannelMessageWithSource &&
      original &&
      !original.deleted &&
      (original.flags & LOADING) !== 0
    ) {
      // Discord: the first follow-up after a deferred response replaces the "thinking" message
      // (keeping the defer's ephemeral flag, and pinging nobody, like an edit).
      message = state.editMessage(original, parsed, body.files, body.json ?? {});
      this.hooks.messageUpdated(message);
    } else {
      const flags = (parsed.flags ?? 0) & CREATABLE_FLAGS;
      message = state.createMessage({
        channel: state.requireChannel(handle.channelId),
        author: state.bot,
        body: parsed,
        files: body.files,
        source: 'followup',
        type: 0,
        flags,
        interactionId: handle.id,
        webhookId: state.bot.id,
        interactionMetadata: this.interactionMetadata(handle),
        canMentionEveryone: true,
        visibleInChannel: (flags & EPHEMERAL) === 0,
      });
      if ((flags & EPHEMERAL) === 0) this.hooks.messageCreated(message);
    }
    handle.followUpIds.push(message.id);
    const wait = query.get('wait') === 'true';
    return wait ? { status: 200, body: state.apiMessage(message), messageId: message.id } : { status: 204, messageId: message.id };
  }

  private webhookMessage(handle: InteractionHandle, { method, body }: RestContext, target: string): RestResult & { messageId: string } {
    const { state } = this.hooks;
    const messageId = target === '@original' ? handle.originalMessageId : target;
    const owned = messageId !== null && (messageId === handle.originalMessageId || handle.followUpIds.includes(messageId));
    const message = owned ? state.messages.get(messageId) : undefined;
    if (!message || message.deleted) throw discordErrors.unknownMessage();
    if (method === 'GET') return { status: 200, body: state.apiMessage(message), messageId: message.id };
    if (method === 'DELETE') {
      state.deleteMessage(message);
      this.hooks.messageDeleted(message);
      return { status: 204, messageId: message.id };
    }
    const parsed = parseMessageBody(body.json);
    assertUploadLimit(body.files, handle.attachmentSizeLimit);
    assertEditNotEmpty(message, parsed, body.files);
    state.editMessage(message, parsed, body.files, body.json ?? {});
    this.hooks.messageUpdated(message);
    return { status: 200, body: state.apiMessage(message), messageId: message.id };
  }
}

function fileInfo(file: UploadedFile): FileInfo {
  return { field: file.field, filename: file.filename, size: file.size, contentType: file.contentType };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Discord caps each uploaded file: 20 MiB, 50 MiB at boost tier 2, 100 MiB at tier 3. */
function assertUploadLimit(files: readonly UploadedFile[], limitBytes: number): void {
  if (files.some((file) => file.size > limitBytes)) throw discordErrors.entityTooLarge();
}

function assertNotEmpty(body: MessageBody, files: readonly UploadedFile[]): void {
  const hasContent = (body.content ?? '') !== '';
  const hasOther =
    (body.embeds?.length ?? 0) > 0 ||
    (body.components?.length ?? 0) > 0 ||
    (body.sticker_ids?.length ?? 0) > 0 ||
    Boolean(body.poll) ||
    files.length > 0;
  if (!hasContent && !hasOther) throw discordErrors.emptyMessage();
}

function assertEditNotEmpty(message: RecordedMessage, body: MessageBody, files: readonly UploadedFile[]): void {
  const content = body.content !== undefined ? (body.content ?? '') : message.content;
  const embeds = body.embeds !== undefined ? (body.embeds?.length ?? 0) : message.embeds.length;
  const components = body.components !== undefined ? (body.components?.length ?? 0) : message.components.length;
  const kept =
    body.attachments !== undefined
      ? message.attachments.filter((a) => body.attachments?.some((r) => String(r.id) === a.id)).length
      : message.attachments.length;
  if (content === '' && embeds === 0 && components === 0 && kept + files.length === 0) throw discordErrors.emptyMessage();
}
