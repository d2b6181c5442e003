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
}

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
}

function withTimeout(work: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
