import { createSoraClient } from '../src/sora/sora-client.js';

/** Options of `startNaivePoller`. */
export interface NaivePollerOptions {
  baseUrl: string;
  apiToken: string;
  intervalMs: number;
  /** The provider task ids to poll, read at every tick. */
  ids(): readonly string[];
}

/** A running naive poller. */
export interface NaivePoller {
  /** `retrieve` calls sent so far. */
  readonly requestsSent: number;
  stop(): Promise<void>;
}

/**
 * The comparison baseline: one `retrieve` request per task id every interval, as a bot without a
 * batcher would poll. Uses the project's own Sora client so both sides pay the same wire costs.
 */
export function startNaivePoller(options: NaivePollerOptions): NaivePoller {
  const client = createSoraClient({ baseUrl: options.baseUrl, apiToken: options.apiToken, requestTimeoutMs: 30_000 });
  const inFlight = new Set<Promise<unknown>>();
  let requestsSent = 0;
  const tick = (): void => {
    for (const id of options.ids()) {
      requestsSent++;
      const call = client.retrieve(id).catch(() => undefined);
      inFlight.add(call);
      void call.finally(() => inFlight.delete(call));
    }
  };
  const timer = setInterval(tick, options.intervalMs);
  tick();
  return {
    get requestsSent() {
      return requestsSent;
    },
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...inFlight]);
      await client.close();
    },
  };
}
