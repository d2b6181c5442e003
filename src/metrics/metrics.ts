import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { findModel } from '../core/models/catalogue.js';
import type { Publisher, PublishOutcome, StatusBatchOutcome, SubmitOutcome, VideoApi } from '../core/ports.js';
import type { Task } from '../core/task.js';

/** Live counts read on each scrape (the scheduler, the pollers, the breaker, the gateway). */
export interface MetricsSources {
  queuedCount(): number;
  runningCount(): number;
  followedCount(): number;
  circuitOpen(): boolean;
  gatewayReady(): boolean;
  /** Several processes on Redis only. */
  guildLeases?(): { owned: number; waiting: number };
}

const PREFIX = 'sora_bot_';
// Label values come from the provider and Discord; anything unexpected is folded so a strange
// answer cannot create unbounded series.
const LABEL_VALUE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The bot's Prometheus metrics in a registry of their own (default process metrics included). */
export class BotMetrics {
  readonly registry = new Registry();
  private sources: MetricsSources | undefined;

  readonly submits = new Counter({
    name: `${PREFIX}submits_total`,
    help: 'Submits to Ace Data Cloud by outcome (accepted, rate_limited, account_problem, model_unavailable, rejected, uncertain, error).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  // Its own series rather than more labels on submits_total, whose `{outcome}` series dashboards and
  // alerts already read: the same submits by catalogue model and service.
  readonly modelSubmits = new Counter({
    name: `${PREFIX}model_submits_total`,
    help: 'Submits to Ace Data Cloud by service, catalogue model and outcome (accepted, rate_limited, account_problem, model_unavailable, rejected, uncertain, error).',
    labelNames: ['service', 'model', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly apiErrors = new Counter({
    name: `${PREFIX}acedata_errors_total`,
    help: 'Ace Data Cloud API errors by operation (submit, status) and error code.',
    labelNames: ['operation', 'code'] as const,
    registers: [this.registry],
  });

  readonly apiRequestSeconds = new Histogram({
    name: `${PREFIX}acedata_request_duration_seconds`,
    help: 'Duration of Ace Data Cloud requests by operation (submit, status).',
    labelNames: ['operation'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly statusRequests = new Counter({
    name: `${PREFIX}status_requests_total`,
    help: 'Batched status requests (/<service>/tasks retrieve_batch) by outcome (ok, error).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly serviceStatusRequests = new Counter({
    name: `${PREFIX}service_status_requests_total`,
    help: 'Batched status requests (/<service>/tasks retrieve_batch) by service and outcome (ok, error).',
    labelNames: ['service', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly statusRequestIds = new Histogram({
    name: `${PREFIX}status_request_ids`,
    help: 'Task ids per batched status request.',
    buckets: [1, 2, 5, 10, 20, 30, 40, 50],
    registers: [this.registry],
  });

  readonly publishAttempts = new Counter({
    name: `${PREFIX}publish_attempts_total`,
    help: 'Attempts to post a result in Discord by outcome (posted, retry, undeliverable, error).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly deliveries = new Counter({
    name: `${PREFIX}deliveries_total`,
    help: 'Results that reached their end, by mode: upload, link, notice (failed/interrupted), timeout_notice, undeliverable.',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });

  readonly deliveryLatencySeconds = new Histogram({
    name: `${PREFIX}delivery_latency_seconds`,
    help: 'From the generation finishing at the provider (seen by the poller) to the result posted in Discord.',
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
    registers: [this.registry],
  });

  readonly discordErrors = new Counter({
    name: `${PREFIX}discord_errors_total`,
    help: 'Failed Discord REST requests by Discord error code (e.g. 50013), http_<status>, rate_limited or a network code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const jobs: Gauge<'state'> = new Gauge({
      name: `${PREFIX}jobs`,
      help: 'Jobs by state: queued (waiting for a slot), running (holding a slot), followed (polled for a result).',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect: () => {
        if (!this.sources) return;
        jobs.set({ state: 'queued' }, this.sources.queuedCount());
        jobs.set({ state: 'running' }, this.sources.runningCount());
        jobs.set({ state: 'followed' }, this.sources.followedCount());
      },
    });
    const queueLength: Gauge = new Gauge({
      name: `${PREFIX}queue_length`,
      help: 'Jobs waiting in the submit queue.',
      registers: [this.registry],
      collect: () => {
        if (this.sources) queueLength.set(this.sources.queuedCount());
      },
    });
    const breakerOpen: Gauge = new Gauge({
      name: `${PREFIX}circuit_breaker_open`,
      help: '1 while submits are stopped after an account error (invalid_token, used_up…), else 0.',
      registers: [this.registry],
      collect: () => {
        if (this.sources) breakerOpen.set(this.sources.circuitOpen() ? 1 : 0);
      },
    });
    const gatewayReady: Gauge = new Gauge({
      name: `${PREFIX}discord_gateway_ready`,
      help: '1 while the Discord gateway connection is ready, else 0.',
      registers: [this.registry],
      collect: () => {
        if (this.sources) gatewayReady.set(this.sources.gatewayReady() ? 1 : 0);
      },
    });
    const guilds: Gauge<'lease'> = new Gauge({
      name: `${PREFIX}guild_leases`,
      help: 'Several processes on Redis: servers whose tasks this process follows (held), and servers of its shards it waits for while another process holds them (waiting).',
      labelNames: ['lease'] as const,
      registers: [this.registry],
      collect: () => {
        const counts = this.sources?.guildLeases?.();
        if (!counts) return;
        guilds.set({ lease: 'held' }, counts.owned);
        guilds.set({ lease: 'waiting' }, counts.waiting);
      },
    });
  }

  /** Connects the gauges to the running components; until then they report nothing. */
  watch(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** The DeliveryService `onPublished` hook: counts the delivery and observes its latency. */
  recordPublished(task: Task): void {
    if (task.state === 'delivered') {
      this.deliveries.inc({ mode: task.deliveryMode ?? 'unknown' });
      if (task.finishedAt !== undefined && task.deliveredAt !== undefined) {
        const seconds = (Date.parse(task.deliveredAt) - Date.parse(task.finishedAt)) / 1000;
        if (Number.isFinite(seconds) && seconds >= 0) this.deliveryLatencySeconds.observe(seconds);
      }
    } else if (task.state === 'undeliverable') {
      this.deliveries.inc({ mode: 'undeliverable' });
    } else if (task.state === 'timed_out' && task.timeoutNoticePosted) {
      this.deliveries.inc({ mode: 'timeout_notice' });
    }
  }

  /** The Prometheus text exposition of every metric. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** A label value safe to use: itself when it looks like a code, `other` otherwise. */
export function labelValue(value: string | number): string {
  const text = String(value);
  return LABEL_VALUE.test(text) ? text : 'other';
}

/** Counts submits by outcome (and by model), status requests (and by service), ids per request and API errors by code. */
export function instrumentVideoApi(api: VideoApi, metrics: BotMetrics): VideoApi {
  return {
    async submit(request, options) {
      const spec = findModel(request.model);
      // Only catalogue ids become label values, so an odd stored model cannot add series.
      const labels = { service: spec?.service ?? 'unknown', model: spec?.id ?? 'other' };
      const stopTimer = startTimer(metrics.apiRequestSeconds, 'submit');
      let outcome: SubmitOutcome;
      try {
        outcome = await api.submit(request, options);
      } catch (err) {
        metrics.submits.inc({ outcome: 'error' });
        metrics.modelSubmits.inc({ ...labels, outcome: 'error' });
        metrics.apiErrors.inc({ operation: 'submit', code: 'internal_error' });
        throw err;
      } finally {
        stopTimer();
      }
      metrics.submits.inc({ outcome: outcome.kind });
      metrics.modelSubmits.inc({ ...labels, outcome: outcome.kind });
      if (outcome.kind !== 'accepted') {
        const code = outcome.kind === 'rate_limited' ? 'rate_limited' : outcome.code;
        metrics.apiErrors.inc({ operation: 'submit', code: labelValue(code) });
      }
      return outcome;
    },

    async retrieveBatch(service, providerTaskIds) {
      metrics.statusRequestIds.observe(providerTaskIds.length);
      const stopTimer = startTimer(metrics.apiRequestSeconds, 'status');
      const serviceLabel = labelValue(service);
      let outcome: StatusBatchOutcome;
      try {
        outcome = await api.retrieveBatch(service, providerTaskIds);
      } catch (err) {
        metrics.statusRequests.inc({ outcome: 'error' });
        metrics.serviceStatusRequests.inc({ service: serviceLabel, outcome: 'error' });
        metrics.apiErrors.inc({ operation: 'status', code: 'internal_error' });
        throw err;
      } finally {
        stopTimer();
      }
      metrics.statusRequests.inc({ outcome: outcome.kind });
      metrics.serviceStatusRequests.inc({ service: serviceLabel, outcome: outcome.kind });
      if (outcome.kind === 'error') metrics.apiErrors.inc({ operation: 'status', code: labelValue(outcome.code) });
      return outcome;
    },
  };
}

/** Counts publish attempts by outcome. */
export function instrumentPublisher(publisher: Publisher, metrics: BotMetrics): Publisher {
  return {
    async publish(task, options) {
      let outcome: PublishOutcome;
      try {
        outcome = await publisher.publish(task, options);
      } catch (err) {
        metrics.publishAttempts.inc({ outcome: 'error' });
        throw err;
      }
      metrics.publishAttempts.inc({ outcome: outcome.kind });
      return outcome;
    },
  };
}

function startTimer(histogram: Histogram<'operation'>, operation: string): () => void {
  const startedAt = performance.now();
  return () => histogram.observe({ operation }, (performance.now() - startedAt) / 1000);
}
