import { afterEach, describe, expect, it } from 'vitest';
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
