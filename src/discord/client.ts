import { Client, GatewayIntentBits, Options, Partials, REST, ShardClientUtil, Status } from 'discord.js';
import pLimit from 'p-limit';
import { uploadAwareMakeRequest } from './video-upload.js';

/** Options for the bot's discord.js client. */
export interface DiscordClientOptions {
  /** REST base (`DISCORD_API_URL`); undefined uses Discord's own. */
  apiUrl: string | undefined;
  /** Shards of the whole bot, or `auto` (Discord's recommendation, every shard in this process). */
  shardCount?: number | 'auto';
  /** The shards this process runs; undefined: every shard. */
  shardIds?: readonly number[] | undefined;
}

// Uploads of up to 100 MiB (boost tier 3) do not fit in discord.js's default 15 s REST timeout.
const REST_TIMEOUT_MS = 5 * 60_000;

/**
 * Interaction-webhook calls (reply edits, follow-ups) in flight at once. Without the global limit
 * nothing else bounds them: a refresh of 10 000 waiting replies would open 10 000 connections, and
 * each request waiting inside @discordjs/rest holds far more than one waiting here.
 */
export const INTERACTION_WEBHOOK_CONCURRENCY = 8;

/**
 * A token-less REST client for interaction requests (`auth: false` routes). Discord does not bind
 * interaction endpoints to the bot's global 50 requests/s, so this instance has no global budget of
 * its own; per-route limits (one bucket per interaction token) still apply and are kept by discord.js.
 */
export function createInteractionRest(apiUrl: string | undefined, webhookConcurrency = INTERACTION_WEBHOOK_CONCURRENCY): REST {
  const rest = new REST({ timeout: 30_000, globalRequestsPerSecond: Number.POSITIVE_INFINITY, ...(apiUrl ? { api: apiUrl } : {}) });
  const send = rest.request.bind(rest);
  const webhookSlots = pLimit(webhookConcurrency);
  // Acknowledgements go straight out: Discord's 3 s deadline must not wait behind reply edits.
  rest.request = (options) => (options.fullRoute.startsWith('/webhooks/') ? webhookSlots(() => send(options)) : send(options));
  return rest;
}

/** Creates the discord.js client: slash commands only need the Guilds intent (no privileged intents). */
export function createDiscordClient(options: DiscordClientOptions): Client {
  const { shardCount = 'auto', shardIds } = options;
  return new Client({
    intents: [GatewayIntentBits.Guilds],
    partials: [Partials.Channel],
    // Messages are never read from the cache (results are found through the REST history), but
    // discord.js keeps every reply it edits: 200 per channel, megabytes over a long queue.
    makeCache: Options.cacheWithLimits({ ...Options.DefaultMakeCacheSettings, MessageManager: 0 }),
    // Passed explicitly: discord.js otherwise reads SHARDS / SHARD_COUNT from the environment.
    ...(shardCount === 'auto'
      ? { shards: 'auto' as const }
      : { shardCount, shards: shardIds ? [...shardIds] : [...Array(shardCount).keys()] }),
    // Video uploads are streamed from their download chunks (see uploadAwareMakeRequest).
    rest: { timeout: REST_TIMEOUT_MS, makeRequest: uploadAwareMakeRequest, ...(options.apiUrl ? { api: options.apiUrl } : {}) },
  });
}

/**
 * Sends the client's own interaction requests (the callback that acknowledges a command and the
 * interaction webhook behind `editReply`/`followUp`: token-only, `auth: false`) through
 * `interactionRest`. Discord does not count them against the bot's global 50 requests/s, but
 * @discordjs/rest counts every request of an instance, and discord.js has no option to exempt them:
 * without this a burst of commands queues its acknowledgements and replies behind one another and
 * behind result posts.
 */
export function routeInteractionRequests(botRest: REST, interactionRest: REST): void {
  const viaBot = botRest.request.bind(botRest);
  botRest.request = (options) =>
    options.auth === false && /^\/(interactions|webhooks)\//.test(options.fullRoute) ? interactionRest.request(options) : viaBot(options);
}

/**
 * Whether this process holds a guild's shard (its events and, with several processes, its tasks).
 * With `auto` every shard runs here.
 */
export function holdsGuildShard(guildId: string, shardCount: number | 'auto', shardIds: readonly number[] | undefined): boolean {
  if (shardCount === 'auto' || !shardIds) return true;
  return shardIds.includes(ShardClientUtil.shardIdForGuildId(guildId, shardCount));
}

/**
 * Whether the gateway connection is up: the client became ready and no shard is reconnecting
 * (`client.ws.status` alone stays Ready after the first login).
 */
export function isGatewayReady(client: Client): boolean {
  return client.ws.status === Status.Ready && client.ws.shards.every((shard) => shard.status === Status.Ready);
}
