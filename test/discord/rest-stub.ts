import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REST } from 'discord.js';
import type { APIEmbed, APIMessage, RESTOptions } from 'discord.js';
import { Response } from 'undici';
import type { Task } from '../../src/core/task.js';

/** One request the stub received (path without the `/api/v10` prefix). */
export interface StubRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The JSON body, or `payload_json` of a multipart body. */
  json: unknown;
  files: { field: string; name: string; size: number; contentType: string }[];
  /** The body's bytes as received. */
  raw: Buffer;
}

/** A scripted answer. */
export interface StubReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
}

interface Override {
  method: string;
  path: RegExp;
  reply: StubReply;
}

/** A few Discord REST routes on 127.0.0.1: create/list channel messages and edit `@original`. */
export interface RestStub {
  /** Base for discord.js `rest.api`, e.g. `http://127.0.0.1:1234/api`. */
  readonly url: string;
  readonly botUserId: string;
  readonly requests: StubRequest[];
  /** Channel id → messages, newest first (what GET /channels/:id/messages returns). */
  readonly messages: Map<string, APIMessage[]>;
  /** The next request matching `method` and `path` gets `reply` instead of the default. */
  once(method: string, path: RegExp, reply: StubReply): void;
  /** A discord.js REST pointed at the stub, with token `x`. */
  rest(options?: Partial<RESTOptions>): REST;
  close(): Promise<void>;
}

const CHANNEL_MESSAGES = /^\/channels\/(\d+)\/messages$/;
const ORIGINAL_RESPONSE = /^\/webhooks\/(\d+)\/([^/]+)\/messages\/@original$/;

/** Starts the stub on an ephemeral loopback port. */
export async function startRestStub(botUserId = '100000000000000001'): Promise<RestStub> {
  const requests: StubRequest[] = [];
  const messages = new Map<string, APIMessage[]>();
  const overrides: Override[] = [];
  const rests: REST[] = [];
  let nextId = 200000000000000000n;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname).replace(/^\/api\/v\d+/, '');
    const recorded: StubRequest = {
      method: req.method ?? 'GET',
      path,
      query: url.searchParams,
      headers: req.headers,
      raw,
      ...(await parseBody(raw, req.headers['content-type'])),
    };
    requests.push(recorded);

    const index = overrides.findIndex((o) => o.method === recorded.method && o.path.test(path));
    if (index >= 0) {
      const [override] = overrides.splice(index, 1);
      const reply = override!.reply;
      if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
      return send(res, reply);
    }

    const channel = CHANNEL_MESSAGES.exec(path);
    if (channel && recorded.method === 'POST') return send(res, { status: 200, body: createMessage(channel[1]!, recorded) });
    if (channel && recorded.method === 'GET') {
      const limit = Number(url.searchParams.get('limit') ?? 50);
      return send(res, { status: 200, body: (messages.get(channel[1]!) ?? []).slice(0, limit) });
    }
    if (ORIGINAL_RESPONSE.test(path) && recorded.method === 'PATCH') {
      return send(res, { status: 200, body: { id: String(nextId++), ...(recorded.json as object) } });
    }
    return send(res, { status: 404, body: { code: 0, message: '404: Not Found' } });
  }

  function createMessage(channelId: string, request: StubRequest): APIMessage {
    const body = request.json as { content?: string; embeds?: APIEmbed[]; nonce?: string; enforce_nonce?: boolean };
    const list = messages.get(channelId) ?? [];
    if (body.enforce_nonce && body.nonce !== undefined) {
      const earlier = list.find((m) => m.nonce === body.nonce);
      if (earlier) return earlier;
    }
    const message = {
      id: String(nextId++),
      channel_id: channelId,
      author: { id: botUserId, username: 'sora-bot', discriminator: '0', global_name: null, avatar: null, bot: true },
      content: body.content ?? '',
      embeds: body.embeds ?? [],
      attachments: request.files.map((file, i) => ({
        id: String(i),
        filename: file.name,
        size: file.size,
        url: `https://cdn.example.invalid/${file.name}`,
        proxy_url: `https://cdn.example.invalid/${file.name}`,
      })),
      nonce: body.nonce,
      timestamp: new Date().toISOString(),
    } as unknown as APIMessage;
    list.unshift(message);
    messages.set(channelId, list);
    return message;
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, { status: 500, body: { message: String(error) } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/api`,
    botUserId,
    requests,
    messages,
    once(method, path, reply) {
      overrides.push({ method, path, reply });
    },
    rest(options = {}) {
      const rest = new REST({ api: `http://127.0.0.1:${port}/api`, ...options }).setToken('x');
      rests.push(rest);
      return rest;
    },
    async close() {
      for (const rest of rests) {
        rest.clearHashSweeper();
        rest.clearHandlerSweeper();
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, reply: StubReply): void {
  const isJson = typeof reply.body !== 'string';
  res.writeHead(reply.status, {
    'content-type': isJson ? 'application/json' : 'text/html',
    ...reply.headers,
  });
  res.end(isJson ? JSON.stringify(reply.body ?? {}) : reply.body);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function parseBody(raw: Buffer, contentType: string | undefined): Promise<Pick<StubRequest, 'json' | 'files'>> {
  if (raw.length === 0) return { json: undefined, files: [] };
  if (contentType?.startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    let json: unknown;
    const files: StubRequest['files'] = [];
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field === 'payload_json') json = JSON.parse(value);
      } else {
        files.push({ field, name: value.name, size: value.size, contentType: value.type });
      }
    }
    return { json, files };
  }
  return { json: JSON.parse(raw.toString('utf8')), files: [] };
}

/** A task in the given state with sensible defaults (ids are snowflake-shaped, as discord.js expects). */
export function makeTask(overrides: Partial<Task> = {}): Task {
  return {
    schemaVersion: 1,
    id: 'k3m9q2x7ab',
    guildId: '300000000000000001',
    channelId: '300000000000000002',
    userId: '300000000000000003',
    request: { prompt: 'A red fox running through snow', model: 'sora-2', duration: 10, orientation: 'landscape', size: 'small' },
    state: 'posting',
    uploadLimitBytes: 10 * 1024 * 1024,
    providerTaskId: 'f1e2d3c4-b5a6-4789-9abc-def012345678',
    submitAttempts: 1,
    createdAt: '2025-01-01T12:00:00.000Z',
    updatedAt: '2025-01-01T12:03:00.000Z',
    submittedAt: '2025-01-01T12:00:05.000Z',
    finishedAt: '2025-01-01T12:03:00.000Z',
    ...overrides,
  };
}
