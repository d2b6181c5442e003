import { DiscordAPIError, HTTPError, type REST } from 'discord.js';
import { describe, expect, it } from 'vitest';
import type { Publisher, PublishOutcome, StatusBatchOutcome, SubmitOutcome, VideoApi } from '../../src/core/ports.js';
import { discordErrorCode, instrumentDiscordRest } from '../../src/metrics/discord-metrics.js';
import { BotMetrics, instrumentPublisher, instrumentVideoApi, labelValue } from '../../src/metrics/metrics.js';
import { makeTask } from '../fakes/task-factory.js';

/** The value of one series (matching every given label), or undefined when it does not exist. */
async function valueOf(metrics: BotMetrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const base = name.replace(/_(count|sum|bucket)$/, '');
  const metric = metrics.registry.getSingleMetric(base);
  if (!metric) throw new Error(`no metric ${base}`);
  const { values } = await metric.get();
  const found = values.find(
    (v) =>
      ((v as { metricName?: string }).metricName ?? base) === name &&
      Object.entries(labels).every(([key, value]) => String(v.labels[key]) === value),
  );
  return found?.value;
}

function scriptedApi(submits: (SubmitOutcome | Error)[], batches: (StatusBatchOutcome | Error)[]): VideoApi {
  return {
    submit() {
      const next = submits.shift()!;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    retrieveBatch() {
      const next = batches.shift()!;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
  };
}

const REQUEST = { prompt: 'p', model: 'sora-2', duration: 10, orientation: 'landscape', size: 'small' } as const;

describe('instrumentVideoApi', () => {
  it('counts submits by outcome and API errors by code, passing every outcome through unchanged', async () => {
    const metrics = new BotMetrics();
    const outcomes: SubmitOutcome[] = [
      { kind: 'accepted', providerTaskId: 'p1' },
      { kind: 'accepted', providerTaskId: 'p2' },
      { kind: 'rate_limited', retryAfterMs: 1000 },
      { kind: 'account_problem', code: 'used_up', message: 'm' },
      { kind: 'rejected', code: 'bad_request', message: 'm' },
      { kind: 'uncertain', code: 'timeout', message: 'm' },
    ];
    const api = instrumentVideoApi(scriptedApi([...outcomes, new Error('bug')], []), metrics);
    for (const expected of outcomes) expect(await api.submit(REQUEST)).toEqual(expected);
    await expect(api.submit(REQUEST)).rejects.toThrow('bug');

    expect(await valueOf(metrics, 'sora_bot_submits_total', { outcome: 'accepted' })).toBe(2);
    for (const outcome of ['rate_limited', 'account_problem', 'rejected', 'uncertain', 'error']) {
      expect(await valueOf(metrics, 'sora_bot_submits_total', { outcome }), outcome).toBe(1);
    }
    for (const code of ['rate_limited', 'used_up', 'bad_request', 'timeout', 'internal_error']) {
      expect(await valueOf(metrics, 'sora_bot_acedata_errors_total', { operation: 'submit', code }), code).toBe(1);
    }
    expect(await valueOf(metrics, 'sora_bot_acedata_request_duration_seconds_count', { operation: 'submit' })).toBe(7);
  });

  it('counts status requests by outcome and observes the ids per request', async () => {
    const metrics = new BotMetrics();
    const api = instrumentVideoApi(
      scriptedApi(
        [],
        [
          { kind: 'ok', statuses: new Map() },
          { kind: 'error', code: 'api_error', message: 'm', retryable: true },
          { kind: 'ok', statuses: new Map() },
        ],
      ),
      metrics,
    );
    await api.retrieveBatch('sora', ['a']);
    await api.retrieveBatch('veo', ['a', 'b', 'c']);
    await api.retrieveBatch(
      'veo',
      Array.from({ length: 50 }, (_, i) => `id${i}`),
    );

    expect(await valueOf(metrics, 'sora_bot_status_requests_total', { outcome: 'ok' })).toBe(2);
    expect(await valueOf(metrics, 'sora_bot_status_requests_total', { outcome: 'error' })).toBe(1);
    expect(await valueOf(metrics, 'sora_bot_acedata_errors_total', { operation: 'status', code: 'api_error' })).toBe(1);
    expect(await valueOf(metrics, 'sora_bot_status_request_ids_count')).toBe(3);
    expect(await valueOf(metrics, 'sora_bot_status_request_ids_sum')).toBe(54);
    expect(await valueOf(metrics, 'sora_bot_status_request_ids_bucket', { le: '2' })).toBe(1);
    expect(await valueOf(metrics, 'sora_bot_service_status_requests_total', { service: 'sora', outcome: 'ok' })).toBe(1);
    expect(await valueOf(metrics, 'sora_bot_service_status_requests_total', { service: 'veo', outcome: 'error' })).toBe(1);
    expect(await valueOf(metrics, 'sora_bot_service_status_requests_total', { service: 'veo', outcome: 'ok' })).toBe(1);
  });

  it('counts submits by service and catalogue model too, folding a model the catalogue does not know', async () => {
    const metrics = new BotMetrics();
    const api = instrumentVideoApi(
      scriptedApi(
        [
          { kind: 'accepted', providerTaskId: 'p1' },
          { kind: 'model_unavailable', scope: 'service', code: 'api_not_implemented', message: 'm' },
          { kind: 'accepted', providerTaskId: 'p2' },
          { kind: 'model_unavailable', scope: 'model', code: 'unknown_model', message: 'm' },
        ],
        [],
      ),
      metrics,
    );
    await api.submit({ prompt: 'p', model: 'veo31-fast', orientation: 'landscape' });
    await api.submit(REQUEST);
    await api.submit({ prompt: 'p', model: 'kling-v2-6', duration: 5 });
    await api.submit({ prompt: 'p', model: 'made up model!' });

    const series = async (labels: Record<string, string>) => valueOf(metrics, 'sora_bot_model_submits_total', labels);
    expect(await series({ service: 'veo', model: 'veo31-fast', outcome: 'accepted' })).toBe(1);
    expect(await series({ service: 'sora', model: 'sora-2', outcome: 'model_unavailable' })).toBe(1);
    expect(await series({ service: 'kling', model: 'kling-v2-6', outcome: 'accepted' })).toBe(1);
    expect(await series({ service: 'unknown', model: 'other', outcome: 'model_unavailable' })).toBe(1);
    // The series without model labels is unchanged.
    expect(await valueOf(metrics, 'sora_bot_submits_total', { outcome: 'accepted' })).toBe(2);
    expect(await valueOf(metrics, 'sora_bot_submits_total', { outcome: 'model_unavailable' })).toBe(2);
    expect(await valueOf(metrics, 'sora_bot_acedata_errors_total', { operation: 'submit', code: 'api_not_implemented' })).toBe(1);
  });

  it('folds a label value that does not look like a code', () => {
    expect(labelValue('used_up')).toBe('used_up');
    expect(labelValue(50013)).toBe('50013');
    expect(labelValue('a message with spaces')).toBe('other');
    expect(labelValue('x'.repeat(65))).toBe('other');
  });
});

describe('instrumentPublisher and recordPublished', () => {
  it('counts publish attempts by outcome', async () => {
    const metrics = new BotMetrics();
    const script: (PublishOutcome | Error)[] = [
      { kind: 'posted', messageId: 'm1', mode: 'upload' },
      { kind: 'retry', retryAfterMs: 1, reason: 'r' },
      { kind: 'undeliverable', code: 50013, reason: 'r' },
      new Error('bug'),
    ];
    const inner: Publisher = {
      publish() {
        const next = script.shift()!;
        return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
      },
    };
    const publisher = instrumentPublisher(inner, metrics);
    const task = makeTask();
    expect(await publisher.publish(task, { lookForExisting: false })).toMatchObject({ kind: 'posted' });
    await publisher.publish(task, { lookForExisting: false });
    await publisher.publish(task, { lookForExisting: false });
    await expect(publisher.publish(task, { lookForExisting: false })).rejects.toThrow('bug');
    for (const outcome of ['posted', 'retry', 'undeliverable', 'error']) {
      expect(await valueOf(metrics, 'sora_bot_publish_attempts_total', { outcome }), outcome).toBe(1);
    }
  });

  it('counts deliveries by mode and observes finishedAt → deliveredAt in seconds', async () => {
    const metrics = new BotMetrics();
    metrics.recordPublished(
      makeTask({
        state: 'delivered',
        deliveryMode: 'upload',
        finishedAt: '2025-03-01T12:00:00.000Z',
        deliveredAt: '2025-03-01T12:00:04.000Z',
      }),
    );
    metrics.recordPublished(makeTask({ state: 'delivered', deliveryMode: 'link' }));
    metrics.recordPublished(makeTask({ state: 'undeliverable' }));
    metrics.recordPublished(makeTask({ state: 'timed_out', timeoutNoticePosted: true }));
    metrics.recordPublished(makeTask({ state: 'timed_out' }));

    expect(await valueOf(metrics, 'sora_bot_deliveries_total', { mode: 'upload' })).toBe(1);
    expect(await valueOf(metrics, 'sora_bot_deliveries_total', { mode: 'link' })).toBe(1);
    expect(await valueOf(metrics, 'sora_bot_deliveries_total', { mode: 'undeliverable' })).toBe(1);
    expect(await valueOf(metrics, 'sora_bot_deliveries_total', { mode: 'timeout_notice' })).toBe(1);
    expect(await valueOf(metrics, 'sora_bot_delivery_latency_seconds_count')).toBe(1);
    expect(await valueOf(metrics, 'sora_bot_delivery_latency_seconds_sum')).toBe(4);
    expect(await valueOf(metrics, 'sora_bot_delivery_latency_seconds_bucket', { le: '2' })).toBe(0);
    expect(await valueOf(metrics, 'sora_bot_delivery_latency_seconds_bucket', { le: '5' })).toBe(1);
  });
});

describe('gauges read on scrape', () => {
  it('report nothing before watch() and the live counts after it', async () => {
    const metrics = new BotMetrics();
    expect(await valueOf(metrics, 'sora_bot_jobs', { state: 'queued' })).toBeUndefined();

    const live = { queued: 4, running: 2, followed: 3, open: true, ready: false };
    metrics.watch({
      queuedCount: () => live.queued,
      runningCount: () => live.running,
      followedCount: () => live.followed,
      circuitOpen: () => live.open,
      gatewayReady: () => live.ready,
    });
    expect(await valueOf(metrics, 'sora_bot_jobs', { state: 'queued' })).toBe(4);
    expect(await valueOf(metrics, 'sora_bot_jobs', { state: 'running' })).toBe(2);
    expect(await valueOf(metrics, 'sora_bot_jobs', { state: 'followed' })).toBe(3);
    expect(await valueOf(metrics, 'sora_bot_queue_length')).toBe(4);
    expect(await valueOf(metrics, 'sora_bot_circuit_breaker_open')).toBe(1);
    expect(await valueOf(metrics, 'sora_bot_discord_gateway_ready')).toBe(0);

    Object.assign(live, { queued: 0, open: false, ready: true });
    const text = (await metrics.render()).body;
    expect(text).toContain('sora_bot_jobs{state="queued"} 0');
    expect(text).toContain('sora_bot_circuit_breaker_open 0');
    expect(text).toContain('sora_bot_discord_gateway_ready 1');
  });

  it('report guild leases only when several processes share Redis', async () => {
    const single = new BotMetrics();
    single.watch({
      queuedCount: () => 0,
      runningCount: () => 0,
      followedCount: () => 0,
      circuitOpen: () => false,
      gatewayReady: () => true,
    });
    expect(await valueOf(single, 'sora_bot_guild_leases', { lease: 'held' })).toBeUndefined();

    const shared = new BotMetrics();
    const counts = { owned: 3, waiting: 1 };
    shared.watch({
      queuedCount: () => 0,
      runningCount: () => 0,
      followedCount: () => 0,
      circuitOpen: () => false,
      gatewayReady: () => true,
      guildLeases: () => counts,
    });
    expect(await valueOf(shared, 'sora_bot_guild_leases', { lease: 'held' })).toBe(3);
    expect(await valueOf(shared, 'sora_bot_guild_leases', { lease: 'waiting' })).toBe(1);
  });

  it('keeps each instance in its own registry', async () => {
    const a = new BotMetrics();
    const b = new BotMetrics();
    a.submits.inc({ outcome: 'accepted' });
    expect(await valueOf(a, 'sora_bot_submits_total', { outcome: 'accepted' })).toBe(1);
    expect(await valueOf(b, 'sora_bot_submits_total', { outcome: 'accepted' })).toBeUndefined();
  });
});

describe('Discord errors', () => {
  const apiError = (code: number, status: number) =>
    new DiscordAPIError({ code, message: 'x' }, code, status, 'POST', '/channels/1/messages', {});

  it('names a failed request by its Discord code, HTTP status or network code', () => {
    expect(discordErrorCode(apiError(50013, 403))).toBe('50013');
    expect(discordErrorCode(apiError(0, 429))).toBe('http_429');
    expect(discordErrorCode(new HTTPError(502, 'Bad Gateway', 'GET', '/x', {}))).toBe('http_502');
    const reset = Object.assign(new Error('socket'), { code: 'ECONNRESET' });
    expect(discordErrorCode(new TypeError('fetch failed', { cause: reset }))).toBe('ECONNRESET');
    expect(discordErrorCode(Object.assign(new Error('t'), { name: 'AbortError' }))).toBe('timeout');
    expect(discordErrorCode('weird')).toBe('other');
  });

  it('counts every failed REST request and rethrows it; successes are not counted', async () => {
    const metrics = new BotMetrics();
    const failures = [apiError(10003, 404), apiError(50013, 403), apiError(50013, 403)];
    const rest = {
      request(): Promise<unknown> {
        const next = failures.shift();
        return next ? Promise.reject(next) : Promise.resolve({ id: 'ok' });
      },
    };
    instrumentDiscordRest(rest as unknown as REST, metrics);
    await expect(rest.request()).rejects.toBeInstanceOf(DiscordAPIError);
    await expect(rest.request()).rejects.toBeInstanceOf(DiscordAPIError);
    await expect(rest.request()).rejects.toBeInstanceOf(DiscordAPIError);
    expect(await rest.request()).toEqual({ id: 'ok' });
    expect(await valueOf(metrics, 'sora_bot_discord_errors_total', { code: '10003' })).toBe(1);
    expect(await valueOf(metrics, 'sora_bot_discord_errors_total', { code: '50013' })).toBe(2);
  });
});
