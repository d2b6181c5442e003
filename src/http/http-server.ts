import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/ports.js';

/** What a route answers; a string body is sent as UTF-8. */
export interface HttpReply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** Handles one request on a registered route; a throw becomes a logged 500. */
export type RouteHandler = (request: IncomingMessage) => HttpReply | Promise<HttpReply>;

/** The HTTP methods a route can be registered for (HEAD is served by the GET route). */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Where the server listens once started. */
export interface HttpAddress {
  host: string;
  port: number;
  /** `http://host:port`, with IPv6 hosts in brackets. */
  url: string;
}

/** A small node:http server with exact-path routes (operations endpoints, provider callbacks). */
export interface HttpServer {
  /** Registers `handler` for `method` on `path` (matched exactly, query string ignored). */
  route(method: HttpMethod, path: string, handler: RouteHandler): void;
  /** Starts listening; rejects with a readable error when the port is taken or not allowed. */
  listen(): Promise<HttpAddress>;
  /** Stops accepting connections and resolves once open ones are closed. */
  close(): Promise<void>;
}

/** Options of {@link createHttpServer}. */
export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  logger: Logger;
}

// The server may face a network: bound how long a slow or silent client can hold a socket.
const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
// A scrape in flight at shutdown gets this long before its connection is cut.
const CLOSE_GRACE_MS = 1_000;

/** A JSON reply. */
export function jsonReply(status: number, value: unknown): HttpReply {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify(value),
  };
}

/** Creates the server; nothing listens until `listen()`. */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { logger } = options;
  const routes = new Map<string, Map<string, RouteHandler>>();
  const server = createServer((request, response) => void dispatch(request, response));
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;

  async function dispatch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const path = pathOf(request.url);
    const byMethod = routes.get(path);
    const handler = byMethod?.get(method === 'HEAD' ? 'GET' : method);
    let reply: HttpReply;
    if (!byMethod) {
      reply = jsonReply(404, { error: 'not_found' });
    } else if (!handler) {
      const allowed = [...byMethod.keys()];
      if (byMethod.has('GET')) allowed.push('HEAD');
      reply = jsonReply(405, { error: 'method_not_allowed' });
      reply.headers = { ...reply.headers, allow: allowed.join(', ') };
    } else {
      try {
        reply = await handler(request);
      } catch (err) {
        logger.error({ err, method, path }, 'http handler failed');
        reply = jsonReply(500, { error: 'internal_error' });
      }
    }
    if (response.destroyed) return;
    const body = reply.body === undefined ? undefined : Buffer.from(reply.body);
    response.writeHead(reply.status, { ...reply.headers, 'content-length': String(body?.length ?? 0) });
    response.end(method === 'HEAD' ? undefined : body);
  }

  return {
    route(method, path, handler) {
      let byMethod = routes.get(path);
      if (!byMethod) {
        byMethod = new Map();
        routes.set(path, byMethod);
      }
      if (byMethod.has(method)) throw new Error(`route ${method} ${path} is already registered`);
      byMethod.set(method, handler);
    },

    listen() {
      return new Promise((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => {
          server.off('listening', onListening);
          reject(listenError(err, options));
        };
        const onListening = () => {
          server.off('error', onError);
          server.on('error', (err) => logger.error({ err }, 'http server error'));
          const address = server.address() as AddressInfo;
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve({ host: address.address, port: address.port, url: `http://${host}:${address.port}` });
        };
        server.once('error', onError);
        server.once('listening', onListening);
        server.listen(options.port, options.host);
      });
    },

    close() {
      if (!server.listening) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const cutOff = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
        server.close((err) => {
          clearTimeout(cutOff);
          if (err) reject(err);
          else resolve();
        });
        // Keep-alive connections of scrapers would otherwise hold close() open.
        server.closeIdleConnections();
      });
    },
  };
}

function pathOf(url: string | undefined): string {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}

function listenError(err: NodeJS.ErrnoException, { host, port }: HttpServerOptions): Error {
  const where = `${host}:${port}`;
  if (err.code === 'EADDRINUSE') {
    return new Error(`HTTP_PORT ${port} is already in use on ${host}: set HTTP_PORT to a free port, or off`, { cause: err });
  }
  if (err.code === 'EACCES') {
    return new Error(`not allowed to listen on ${where}: use an HTTP_PORT above 1023, or off`, { cause: err });
  }
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
    return new Error(`HTTP_HOST ${host} is not an address of this machine: use 127.0.0.1 or 0.0.0.0`, { cause: err });
  }
  return new Error(`could not listen on ${where} (${err.code ?? err.message})`, { cause: err });
}
