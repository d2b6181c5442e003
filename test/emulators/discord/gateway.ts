import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { constants as zlibConstants, createDeflate } from 'node:zlib';
import type { Deflate } from 'node:zlib';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import type { EmulatorState } from './state.js';

/** Gateway opcodes the emulator speaks. */
export const GatewayOp = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;

/** Gateway intents the emulator honours. */
export const GatewayIntent = {
  Guilds: 1 << 0,
  GuildMessages: 1 << 9,
  DirectMessages: 1 << 12,
} as const;

/** One gateway frame, sent or received. */
export interface GatewayFrame {
  at: number;
  connectionId: number;
  sessionId: string | null;
  direction: 'in' | 'out';
  op: number;
  t: string | null;
  s: number | null;
  d: unknown;
}

/** An identified gateway session (survives a disconnect until resumed or invalidated). */
export interface GatewaySession {
  id: string;
  shard: [number, number];
  intents: number;
  seq: number;
  connection: GatewayConnection | null;
  /** Dispatches kept for RESUME replay. */
  backlog: { s: number; payload: Record<string, unknown> }[];
}

/** One WebSocket connection. */
export interface GatewayConnection {
  id: number;
  socket: WebSocket;
  session: GatewaySession | null;
  /** zlib-stream transport compression (`compress=zlib-stream` in the URL). */
  deflate: Deflate | null;
}

/** Settings of the gateway. */
export interface GatewayOptions {
  state: EmulatorState;
  token: string;
  heartbeatIntervalMs: number;
  now: () => number;
  /** The URL handed out as `resume_gateway_url`. */
  gatewayUrl: () => string;
  recordFrame: (frame: GatewayFrame) => void;
  onSessionReady: (session: GatewaySession, resumed: boolean) => void;
  onConnectionClosed: (connection: GatewayConnection, code: number) => void;
}

const BACKLOG_LIMIT = 5000;
const SYNC_FLUSH_SUFFIX = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** The gateway WebSocket server: HELLO, heartbeats, IDENTIFY/READY/GUILD_CREATE, RESUME and dispatches. */
export class GatewayServer {
  readonly sessions = new Map<string, GatewaySession>();
  readonly connections = new Set<GatewayConnection>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  private nextConnectionId = 1;
  /** IDENTIFY/RESUME answers waiting for `releaseHandshakes()`; null when not holding. */
  private heldHandshakes: (() => void)[] | null = null;

  constructor(private readonly options: GatewayOptions) {}

  /** Takes over an HTTP upgrade request (any path, like Discord). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const compress = url.searchParams.get('compress') === 'zlib-stream';
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, compress));
  }

  /** Sessions whose socket is open and identified (or resumed). */
  liveSessions(): GatewaySession[] {
    return [...this.sessions.values()].filter((s) => s.connection !== null);
  }

  /**
   * Sends a dispatch to every session on the guild's shard (DMs go to shard 0).
   * Sessions that are disconnected keep it for RESUME. Returns how many live sessions got it.
   */
  dispatch(t: string, d: unknown, guildId: string | null, requiredIntent = 0): number {
    let delivered = 0;
    for (const session of this.sessions.values()) {
      if (requiredIntent !== 0 && (session.intents & requiredIntent) === 0) continue;
      if (shardOf(guildId, session.shard[1]) !== session.shard[0]) continue;
      session.seq += 1;
      const payload = { op: GatewayOp.Dispatch, t, s: session.seq, d };
      session.backlog.push({ s: session.seq, payload });
      if (session.backlog.length > BACKLOG_LIMIT) session.backlog.shift();
      if (session.connection) {
        this.send(session.connection, payload);
        delivered += 1;
      }
    }
    return delivered;
  }

  /** Closes every connection with `code`; `resumable: false` also forgets the sessions. */
  disconnectAll(code: number, resumable: boolean): void {
    for (const connection of this.connections) {
      if (!resumable && connection.session) this.sessions.delete(connection.session.id);
      connection.socket.close(code, 'emulator disconnect');
    }
  }

  /** Sends op 7 RECONNECT: discord.js closes and resumes. */
  requestReconnect(): void {
    for (const connection of this.connections) this.send(connection, { op: GatewayOp.Reconnect, d: null });
  }

  /** Sends op 9 INVALID_SESSION; `resumable: false` forgets the sessions so the client re-identifies. */
  invalidateSessions(resumable: boolean): void {
    for (const connection of this.connections) {
      if (!resumable && connection.session) {
        this.sessions.delete(connection.session.id);
        connection.session = null;
      }
      this.send(connection, { op: GatewayOp.InvalidSession, d: resumable });
    }
  }

  /**
   * Drops every socket without a close frame (as a network cut or a crashed load balancer does): the
   * client sees 1006 and resumes; the sessions stay resumable.
   */
  dropConnections(): void {
    for (const connection of this.connections) connection.socket.terminate();
  }

  /**
   * Holds IDENTIFY and RESUME frames unanswered (the client stays between HELLO and READY/RESUMED)
   * until `releaseHandshakes()`, which then answers them in arrival order.
   */
  holdHandshakes(): void {
    this.heldHandshakes ??= [];
  }

  /** Answers the IDENTIFY/RESUME frames `holdHandshakes()` held (skipping closed sockets) and stops holding. */
  releaseHandshakes(): void {
    const held = this.heldHandshakes ?? [];
    this.heldHandshakes = null;
    for (const answer of held) answer();
  }

  /** Terminates all sockets and the server. */
  async close(): Promise<void> {
    for (const connection of this.connections) connection.socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(socket: WebSocket, compress: boolean): void {
    const connection: GatewayConnection = {
      id: this.nextConnectionId++,
      socket,
      session: null,
      deflate: compress ? this.createDeflate(socket) : null,
    };
    this.connections.add(connection);
    socket.on('message', (data) => this.receive(connection, data));
    socket.on('close', (code) => {
      this.connections.delete(connection);
      connection.deflate?.close();
      const session = connection.session;
      if (session && session.connection === connection) {
        session.connection = null;
        // A client closing with 1000/1001 ends its session (Discord's rule); other codes keep it resumable.
        if (code === 1000 || code === 1001) this.sessions.delete(session.id);
      }
      this.options.onConnectionClosed(connection, code);
    });
    socket.on('error', () => undefined);
    this.send(connection, {
      op: GatewayOp.Hello,
      d: { heartbeat_interval: this.options.heartbeatIntervalMs, _trace: ['["discord-emulator",{}]'] },
    });
  }

  private createDeflate(socket: WebSocket): Deflate {
    const deflate = createDeflate({ chunkSize: 65_535 });
    let pending: Buffer[] = [];
    deflate.on('data', (chunk: Buffer) => {
      pending.push(chunk);
      // One WebSocket message per payload: everything up to the Z_SYNC_FLUSH marker.
      if (chunk.length >= 4 && chunk.subarray(chunk.length - 4).equals(SYNC_FLUSH_SUFFIX)) {
        const message = Buffer.concat(pending);
        pending = [];
        if (socket.readyState === socket.OPEN) socket.send(message);
      }
    });
    deflate.on('error', () => undefined);
    return deflate;
  }

  private send(connection: GatewayConnection, payload: { op: number; d: unknown; t?: string; s?: number }): void {
    this.options.recordFrame({
      at: this.options.now(),
      connectionId: connection.id,
      sessionId: connection.session?.id ?? null,
      direction: 'out',
      op: payload.op,
      t: payload.t ?? null,
      s: payload.s ?? null,
      d: payload.d,
    });
    const text = JSON.stringify({ t: null, s: null, ...payload });
    if (connection.socket.readyState !== connection.socket.OPEN) return;
    if (connection.deflate) {
      connection.deflate.write(text);
      connection.deflate.flush(zlibConstants.Z_SYNC_FLUSH);
    } else {
      connection.socket.send(text);
    }
  }

  private receive(connection: GatewayConnection, data: RawData): void {
    let payload: { op?: unknown; d?: unknown };
    try {
      // Clients send JSON only (etf is not supported), as text or binary frames.
      const text = rawToString(data);
      payload = JSON.parse(text) as { op?: unknown; d?: unknown };
    } catch {
      connection.socket.close(4002, 'Error while decoding payload.');
      return;
    }
    const op = typeof payload.op === 'number' ? payload.op : -1;
    this.options.recordFrame({
      at: this.options.now(),
      connectionId: connection.id,
      sessionId: connection.session?.id ?? null,
      direction: 'in',
      op,
      t: null,
      s: null,
      d: payload.d,
    });
    const d = (typeof payload.d === 'object' && payload.d !== null ? payload.d : {}) as Record<string, unknown>;
    switch (op) {
      case GatewayOp.Heartbeat:
        this.send(connection, { op: GatewayOp.HeartbeatAck, d: null });
        return;
      case GatewayOp.Identify:
      case GatewayOp.Resume: {
        const answer = (): void => {
          if (connection.socket.readyState !== connection.socket.OPEN) return;
          if (op === GatewayOp.Identify) this.identify(connection, d);
          else this.resume(connection, d);
        };
        if (this.heldHandshakes) this.heldHandshakes.push(answer);
        else answer();
        return;
      }
      case GatewayOp.RequestGuildMembers:
        if (connection.session) this.sendMemberChunk(connection, d);
        else connection.socket.close(4003, 'Not authenticated.');
        return;
      default:
        // Presence and voice updates are accepted and ignored.
        if (!connection.session) connection.socket.close(4003, 'Not authenticated.');
    }
  }

  private tokenMatches(token: unknown): boolean {
    return typeof token === 'string' && token.replace(/^Bot /, '') === this.options.token;
  }

  private identify(connection: GatewayConnection, d: Record<string, unknown>): void {
    if (connection.session) {
      connection.socket.close(4005, 'Already authenticated.');
      return;
    }
    if (!this.tokenMatches(d.token)) {
      connection.socket.close(4004, 'Authentication failed.');
      return;
    }
    const shardInput = Array.isArray(d.shard) ? d.shard : [0, 1];
    const shard: [number, number] = [Number(shardInput[0] ?? 0), Number(shardInput[1] ?? 1)];
    const { state } = this.options;
    const session: GatewaySession = {
      id: randomHex(16),
      shard,
      intents: typeof d.intents === 'number' ? d.intents : 0,
      seq: 0,
      connection,
      backlog: [],
    };
    this.sessions.set(session.id, session);
    connection.session = session;
    const guilds = [...state.guilds.values()].filter((g) => !g.removed && shardOf(g.id, shard[1]) === shard[0]);
    const ready = {
      v: 10,
      user: { ...state.apiUser(state.bot), verified: true, mfa_enabled: false, email: null },
      guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.options.gatewayUrl(),
      shard,
      application: { id: state.bot.id, flags: 0 },
      private_channels: [],
      relationships: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      user_settings: {},
      auth: {},
      _trace: ['["discord-emulator",{}]'],
    };
    this.dispatchTo(session, 'READY', ready);
    // discord.js waits for one GUILD_CREATE per guild of READY, but only with the Guilds intent.
    if ((session.intents & GatewayIntent.Guilds) !== 0) {
      for (const guild of guilds) this.dispatchTo(session, 'GUILD_CREATE', state.apiGuildCreate(guild));
    }
    this.options.onSessionReady(session, false);
  }

  private resume(connection: GatewayConnection, d: Record<string, unknown>): void {
    const session = typeof d.session_id === 'string' ? this.sessions.get(d.session_id) : undefined;
    const seq = typeof d.seq === 'number' ? d.seq : 0;
    if (!session || !this.tokenMatches(d.token) || seq > session.seq) {
      this.send(connection, { op: GatewayOp.InvalidSession, d: false });
      return;
    }
    if (session.connection && session.connection !== connection) {
      session.connection.socket.close(4009, 'Session timed out.');
    }
    session.connection = connection;
    connection.session = session;
    for (const entry of session.backlog) {
      if (entry.s > seq) this.send(connection, entry.payload as { op: number; d: unknown });
    }
    this.dispatchTo(session, 'RESUMED', { _trace: ['["discord-emulator",{}]'] });
    this.options.onSessionReady(session, true);
  }

  private dispatchTo(session: GatewaySession, t: string, d: unknown): void {
    session.seq += 1;
    const payload = { op: GatewayOp.Dispatch, t, s: session.seq, d };
    session.backlog.push({ s: session.seq, payload });
    if (session.connection) this.send(session.connection, payload);
  }

  private sendMemberChunk(connection: GatewayConnection, d: Record<string, unknown>): void {
    const guildIds = Array.isArray(d.guild_id) ? d.guild_id.map(String) : [String(d.guild_id)];
    const session = connection.session;
    if (!session) return;
    for (const guildId of guildIds) {
      const guild = this.options.state.guilds.get(guildId);
      if (!guild) continue;
      let members = [...guild.members.values()];
      const wanted = Array.isArray(d.user_ids) ? d.user_ids.map(String) : typeof d.user_ids === 'string' ? [d.user_ids] : null;
      const notFound: string[] = [];
      if (wanted) {
        members = members.filter((m) => wanted.includes(m.userId));
        notFound.push(...wanted.filter((id) => !guild.members.has(id)));
      } else if (typeof d.query === 'string' && d.query !== '') {
        const query = d.query.toLowerCase();
        members = members.filter((m) => this.options.state.users.get(m.userId)?.username.toLowerCase().startsWith(query));
      }
      const limit = typeof d.limit === 'number' && d.limit > 0 ? d.limit : members.length;
      this.dispatchTo(session, 'GUILD_MEMBERS_CHUNK', {
        guild_id: guildId,
        members: members.slice(0, limit).map((m) => this.options.state.apiMember(m)),
        chunk_index: 0,
        chunk_count: 1,
        not_found: notFound,
        ...(typeof d.nonce === 'string' ? { nonce: d.nonce } : {}),
      });
    }
  }
}

/** The shard a guild's events go to (DMs: shard 0). */
export function shardOf(guildId: string | null, shardCount: number): number {
  if (guildId === null || shardCount <= 1) return 0;
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
