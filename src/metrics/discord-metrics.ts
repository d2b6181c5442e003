import { DiscordAPIError, HTTPError, RateLimitError, type REST } from 'discord.js';
import { labelValue, type BotMetrics } from './metrics.js';

/**
 * The code a failed Discord request is counted under: Discord's JSON error code (50013, 10003…),
 * `http_<status>` without one, `rate_limited`, or the network error's code.
 */
export function discordErrorCode(error: unknown): string {
  if (error instanceof DiscordAPIError) return labelValue(error.code === 0 ? `http_${error.status}` : error.code);
  if (error instanceof HTTPError) return `http_${error.status}`;
  if (error instanceof RateLimitError) return 'rate_limited';
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return labelValue(code);
    if (current.name === 'AbortError' || current.name === 'TimeoutError') return 'timeout';
    current = current.cause;
  }
  return 'other';
}

/**
 * Counts every failed request made through `rest` (results, progress edits, interaction replies)
 * by error code. Every verb of discord.js's REST goes through `request`, so wrapping it is enough.
 */
export function instrumentDiscordRest(rest: REST, metrics: BotMetrics): void {
  const request = rest.request.bind(rest);
  rest.request = async (options) => {
    try {
      return await request(options);
    } catch (error) {
      metrics.discordErrors.inc({ code: discordErrorCode(error) });
      throw error;
    }
  };
}
