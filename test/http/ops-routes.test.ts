import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { summarizeUsage, usageDays, type UsageReport } from '../../src/core/usage-report.js';
import { createHttpServer, type HttpServer } from '../../src/http/http-server.js';
import { registerOpsRoutes, type ReadinessChecks } from '../../src/http/ops-routes.js';
import { BotMetrics } from '../../src/metrics/metrics.js';
import { SilentLogger } from '../fakes/silent-logger.js';

const servers: HttpServer[] = [];

interface World {
  gatewayReady: boolean;
  shuttingDown: boolean;
  store: () => Promise<void>;
  storeErrors: unknown[];
}

async function start(world: World, storeTimeoutMs?: number): Promise<string> {
  const server = createHttpServer({ host: '127.0.0.1', port: 0, logger: new SilentLogger() });
  servers.push(server);
  const metrics = new BotMetrics();
  metrics.submits.inc({ outcome: 'accepted' });
  const readiness: ReadinessChecks = {
    gatewayReady: () => world.gatewayReady,
    shuttingDown: () => world.shuttingDown,
    storeAnswers: () => world.store(),
  };
  registerOpsRoutes(server, {
    readiness,
    renderMetrics: () => metrics.render(),
    ...(storeTimeoutMs === undefined ? {} : { storeTimeoutMs }),
    onStoreError: (err) => world.storeErrors.push(err),
  });
  return (await server.listen()).url;
}

function healthyWorld(): World {
  return { gatewayReady: true, shuttingDown: false, store: () => Promise.resolve(), storeErrors: [] };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('operations routes', () => {
  it('/healthz answers 200 whatever the gateway and the store say', async () => {
    const world: World = { ...healthyWorld(), gatewayReady: false, store: () => Promise.reject(new Error('down')) };
    const url = await start(world);
    const response = await fetch(`${url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('/readyz answers 200 when the gateway is ready and the store answers', async () => {
    const url = await start(healthyWorld());
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready' });
  });

  it('/readyz answers 503 with the reason when the gateway is not connected', async () => {
    const url = await start({ ...healthyWorld(), gatewayReady: false });
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      status: 'not_ready',
      reason: 'discord_gateway_not_ready',
      reasons: ['discord_gateway_not_ready'],
    });
  });

  it('/readyz answers 503 when the store read fails, and hands the error to the caller, not the client', async () => {
    const world: World = { ...healthyWorld(), store: () => Promise.reject(new Error('ECONNREFUSED redis://:pw@host')) };
    const url = await start(world);
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ reasons: ['store_unavailable'] });
    expect(text).not.toContain('ECONNREFUSED');
    expect(world.storeErrors).toHaveLength(1);
  });

  it('/readyz answers 503 when the store read hangs past the timeout', async () => {
    const world: World = { ...healthyWorld(), store: () => new Promise<void>(() => undefined) };
    const url = await start(world, 50);
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ reasons: ['store_unavailable'] });
  });

  it('/readyz lists every reason, shutting down first', async () => {
    const url = await start({ gatewayReady: false, shuttingDown: true, store: () => Promise.reject(new Error('closed')), storeErrors: [] });
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      status: 'not_ready',
      reason: 'shutting_down',
      reasons: ['shutting_down', 'discord_gateway_not_ready', 'store_unavailable'],
    });
  });

  it('/metrics answers the Prometheus text format with the bot metrics and the default process metrics', async () => {
    const url = await start(healthyWorld());
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await response.text();
    expect(body).toContain('sora_bot_submits_total{outcome="accepted"} 1');
    expect(body).toContain('process_cpu_user_seconds_total');
    expect(body).toContain('nodejs_eventloop_lag_seconds');
  });
});

describe('GET /usage', () => {
  async function startWithUsage(options: { publicUrl?: string; allowPublic?: boolean } = {}) {
    const asked: number[] = [];
    const server = createHttpServer({ host: '127.0.0.1', port: 0, logger: new SilentLogger() });
    servers.push(server);
    registerOpsRoutes(server, {
      readiness: { gatewayReady: () => true, shuttingDown: () => false, storeAnswers: () => Promise.resolve() },
      renderMetrics: () => new BotMetrics().render(),
      usage: {
        report: (days) => {
          asked.push(days);
          return Promise.resolve(summarizeUsage([], usageDays(new Date('2026-12-02T10:00:00Z'), days), { perGuild: true }));
        },
        ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
        allowPublic: options.allowPublic ?? false,
      },
    });
    return { url: (await server.listen()).url, asked };
  }

  it('answers the report as JSON for the asked days (default 7)', async () => {
    const { url, asked } = await startWithUsage();
    const week = await fetch(`${url}/usage`);
    expect(week.status).toBe(200);
    expect(week.headers.get('content-type')).toContain('application/json');
    expect(((await week.json()) as UsageReport).days).toHaveLength(7);
    const month = await fetch(`${url}/usage?days=30`);
    expect(((await month.json()) as UsageReport).guilds).toEqual([]);
    expect(asked).toEqual([7, 30]);
  });

  it.each(['0', '91', '7.5', 'abc', '-3'])('refuses days=%s with 400 and reads nothing', async (days) => {
    const { url, asked } = await startWithUsage();
    const response = await fetch(`${url}/usage?days=${days}`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toContain('1 to 90');
    expect(asked).toEqual([]);
  });

  it.each([
    ['x-forwarded-for', '203.0.113.9'],
    ['forwarded', 'for=203.0.113.9'],
    ['x-real-ip', '203.0.113.9'],
    ['x-forwarded-host', 'bot.example.com'],
  ])('is not there for a request relayed by a proxy (%s)', async (name, value) => {
    const { url, asked } = await startWithUsage({ publicUrl: 'https://bot.example.com' });
    const response = await fetch(`${url}/usage`, { headers: { [name]: value } });
    expect(response.status).toBe(404);
    expect(asked).toEqual([]);
  });

  it('is not there for a request addressed to PUBLIC_URL, unless the operator opts in', async () => {
    const closed = await startWithUsage({ publicUrl: 'https://Bot.Example.com' });
    expect((await getWithHost(`${closed.url}/usage`, 'bot.example.com')).status).toBe(404);
    expect(closed.asked).toEqual([]);
    // Addressed to the ops port itself: served.
    expect((await fetch(`${closed.url}/usage`)).status).toBe(200);

    const open = await startWithUsage({ publicUrl: 'https://bot.example.com', allowPublic: true });
    expect((await getWithHost(`${open.url}/usage`, 'bot.example.com')).status).toBe(200);
    expect((await fetch(`${open.url}/usage`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(200);
  });
});

/** A GET with its own Host header (fetch does not let a caller set Host). */
function getWithHost(url: string, host: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'GET', headers: { host } }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0 }));
    });
    request.on('error', reject);
    request.end();
  });
}
