import type { IncomingMessage } from 'node:http';
import type { UsageReport } from '../core/usage-report.js';
import { USAGE_DAYS_DEFAULT, USAGE_DAYS_MAX } from '../core/usage-report.js';
import type { HttpServer } from './http-server.js';
import { jsonReply } from './http-server.js';

/** What `/readyz` asks. */
export interface ReadinessChecks {
  /** The Discord gateway is connected (every shard ready). */
  gatewayReady(): boolean;
  /** Resolves when the store answers a read; rejects otherwise. */
  storeAnswers(): Promise<void>;
  /** A graceful shutdown has begun: new commands are refused. */
  shuttingDown(): boolean;
}

/** Options of {@link registerOpsRoutes}. */
export interface OpsRoutesOptions {
  readiness: ReadinessChecks;
  /** The Prometheus text exposition. */
  renderMetrics(): Promise<{ contentType: string; body: string }>;
  /** A store read slower than this counts as unavailable (a hung Redis must not hang the probe). */
  storeTimeoutMs?: number;
  /** Told why the store check failed (the reply only names the check). */
  onStoreError?(err: unknown): void;
  /** `GET /usage`: every guild's spend; absent, the route is not registered. */
  usage?: UsageRouteOptions;
}

/** What `GET /usage` needs. */
export interface UsageRouteOptions {
  /** Every guild's report over the last `days` UTC days. */
  report(days: number): Promise<UsageReport>;
  /** `PUBLIC_URL`, when set: requests addressed to it came through the public path. */
  publicUrl?: string;
  /** The operator lets requests through `PUBLIC_URL` (or any proxy) read the report. */
  allowPublic: boolean;
}

// Headers a reverse proxy or tunnel adds to what it relays; a direct request to the ops port has none.
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip'] as const;

/** Why `/readyz` answers 503. */
export type NotReadyReason = 'shutting_down' | 'discord_gateway_not_ready' | 'store_unavailable';

const DEFAULT_STORE_TIMEOUT_MS = 2_000;

/** Registers `GET /healthz` (alive), `GET /readyz` (gateway and store) and `GET /metrics` (Prometheus). */
export function registerOpsRoutes(server: HttpServer, options: OpsRoutesOptions): void {
  const { readiness } = options;
  const storeTimeoutMs = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;

  server.route('GET', '/healthz', () => jsonReply(200, { status: 'ok' }));

  server.route('GET', '/readyz', async () => {
    const reasons: NotReadyReason[] = [];
    if (readiness.shuttingDown()) reasons.push('shutting_down');
    if (!readiness.gatewayReady()) reasons.push('discord_gateway_not_ready');
    try {
      await withTimeout(readiness.storeAnswers(), storeTimeoutMs);
    } catch (err) {
      options.onStoreError?.(err);
      reasons.push('store_unavailable');
    }
    return reasons.length === 0
      ? jsonReply(200, { status: 'ready' })
      : jsonReply(503, { status: 'not_ready', reason: reasons[0], reasons });
  });

  server.route('GET', '/metrics', async () => {
    const { contentType, body } = await options.renderMetrics();
    return { status: 200, headers: { 'content-type': contentType, 'cache-control': 'no-store' }, body };
  });

  const usage = options.usage;
  if (usage) {
    const publicHost = usage.publicUrl ? new URL(usage.publicUrl).host.toLowerCase() : undefined;
    server.route('GET', '/usage', async (request) => {
      // Member ids and spend are the operator's: through the public callback path it is as if absent.
      if (!usage.allowPublic && cameThroughPublicPath(request, publicHost)) return jsonReply(404, { error: 'not_found' });
      const days = parseDays(new URL(request.url ?? '/', 'http://localhost').searchParams.get('days'));
      if (days === undefined) {
        return jsonReply(400, { error: 'bad_request', message: `days must be a whole number from 1 to ${USAGE_DAYS_MAX}` });
      }
      return jsonReply(200, await usage.report(days));
    });
  }
}

function cameThroughPublicPath(request: IncomingMessage, publicHost: string | undefined): boolean {
  if (PROXY_HEADERS.some((name) => request.headers[name] !== undefined)) return true;
  return publicHost !== undefined && request.headers.host?.toLowerCase() === publicHost;
}

function parseDays(value: string | null): number | undefined {
  if (value === null || value === '') return USAGE_DAYS_DEFAULT;
  if (!/^\d{1,3}$/.test(value)) return undefined;
  const days = Number(value);
  return days >= 1 && days <= USAGE_DAYS_MAX ? days : undefined;
}

function withTimeout(work: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
