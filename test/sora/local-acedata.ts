import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the local server received. */
export interface LocalRequest {
  path: string;
  authorization: string | undefined;
  body: unknown;
  /** The body as sent, for byte-level checks. */
  raw: string;
}

/** What the server answers: a status and a JSON body (or raw text). */
export interface LocalReply {
  status: number;
  body?: unknown;
  raw?: string;
}

/**
 * A tiny stand-in for the Ace Data Cloud services other than Sora (the shared emulator serves only
 * Sora for now): records every POST and answers from per-path handlers. Unhandled paths answer the
 * gateway's 404 `no_api`; by default `<svc>/videos` accepts with a fresh task id and `<svc>/tasks`
 * answers an empty batch.
 */
export class LocalAceData {
  readonly requests: LocalRequest[] = [];
  private readonly handlers = new Map<string, (request: LocalRequest) => LocalReply>();
  private readonly queued = new Map<string, LocalReply[]>();
  private server: Server | undefined;
  private nextId = 1;
  url = '';

  /** Serves `path` (e.g. `/veo/tasks`) with a handler from now on. */
  on(path: string, handler: (request: LocalRequest) => LocalReply): void {
    this.handlers.set(path, handler);
  }

  /** The next request to `path` gets this reply (before any handler). */
  once(path: string, reply: LocalReply): void {
    const list = this.queued.get(path) ?? [];
    list.push(reply);
    this.queued.set(path, list);
  }

  requestsTo(path: string): LocalRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = raw;
    }
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const request: LocalRequest = { path, authorization: req.headers.authorization, body, raw };
    this.requests.push(request);
    const reply = this.queued.get(path)?.shift() ?? this.handlers.get(path)?.(request) ?? this.defaultReply(path);
    const text = reply.raw ?? JSON.stringify(reply.body ?? {});
    res.writeHead(reply.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private defaultReply(path: string): LocalReply {
    if (/\/[a-z]+\/videos$/.test(path)) return { status: 200, body: { task_id: `local-${this.nextId++}` } };
    if (/\/[a-z]+\/tasks$/.test(path)) return { status: 200, body: { items: [], count: 0 } };
    return { status: 404, body: { error: { code: 'no_api', message: 'API does not exist, please make sure url is correct.' } } };
  }
}
