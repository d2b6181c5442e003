import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, jsonReply, type HttpServer } from '../../src/http/http-server.js';
import { SilentLogger } from '../fakes/silent-logger.js';

const servers: HttpServer[] = [];

async function start(setup: (server: HttpServer) => void): Promise<string> {
  const server = createHttpServer({ host: '127.0.0.1', port: 0, logger: new SilentLogger() });
  servers.push(server);
  setup(server);
  return (await server.listen()).url;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('createHttpServer', () => {
  it('serves registered routes by exact path, ignoring the query string', async () => {
    const url = await start((server) => {
      server.route('GET', '/hello', (request) => jsonReply(200, { url: request.url }));
    });
    const response = await fetch(`${url}/hello?x=1`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.json()).toEqual({ url: '/hello?x=1' });
    expect((await fetch(`${url}/hello/`)).status).toBe(404);
  });

  it('answers 404 for unknown paths and 405 with Allow for a known path and another method', async () => {
    const url = await start((server) => {
      server.route('GET', '/only-get', () => jsonReply(200, {}));
    });
    const missing = await fetch(`${url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'not_found' });
    const wrongMethod = await fetch(`${url}/only-get`, { method: 'POST', body: 'x' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD');
  });

  it('serves HEAD from the GET route without a body', async () => {
    const url = await start((server) => {
      server.route('GET', '/x', () => ({ status: 200, body: 'hello' }));
    });
    const response = await fetch(`${url}/x`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('5');
    expect(await response.text()).toBe('');
  });

  it('turns a throwing handler into a 500 without details', async () => {
    const url = await start((server) => {
      server.route('GET', '/boom', () => {
        throw new Error('secret detail');
      });
    });
    const response = await fetch(`${url}/boom`);
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain('secret detail');
  });

  it('refuses to register the same route twice', async () => {
    await start((server) => {
      server.route('GET', '/a', () => jsonReply(200, {}));
      expect(() => server.route('GET', '/a', () => jsonReply(200, {}))).toThrow(/already registered/);
    });
  });

  it('rejects listen() with a readable error when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const server = createHttpServer({ host: '127.0.0.1', port, logger: new SilentLogger() });
      await expect(server.listen()).rejects.toThrow(`HTTP_PORT ${port} is already in use on 127.0.0.1`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('closes even while a client holds a keep-alive connection', async () => {
    const server = createHttpServer({ host: '127.0.0.1', port: 0, logger: new SilentLogger() });
    server.route('GET', '/x', () => jsonReply(200, {}));
    const { port } = await server.listen();
    const agentResponse = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/x', headers: { connection: 'keep-alive' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    expect(agentResponse).toBe(200);
    await server.close();
    await expect(fetch(`http://127.0.0.1:${port}/x`)).rejects.toThrow();
  });
});
