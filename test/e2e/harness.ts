import { MODEL_IDS } from '../../src/core/models/catalogue.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import type { IncomingMessage, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect } from 'vitest';
import { startNodeFlags } from './start-command.js';
import { startAceDataEmulator, type AceDataEmulator, type AceDataEmulatorOptions } from '../emulators/acedata-emulator.js';
import {
  startDiscordEmulator,
  type DiscordEmulator,
  type DiscordEmulatorOptions,
  type AttachmentInput,
  type GuildState,
  type InteractionHandle,
  type OptionInput,
} from '../emulators/discord/index.js';

/** `/sora generate` with these options, from the member (or `userId`) in a channel of `guild`. */
export function sendGenerate(
  world: World,
  guild: GuildState,
  options: Record<string, OptionInput>,
  extra: { channelId?: string; userId?: string; attachments?: Record<string, AttachmentInput> } = {},
): InteractionHandle {
  return world.discord.sendCommand({
    guildId: guild.id,
    channelId: extra.channelId ?? world.channelOf(guild),
    userId: extra.userId ?? MEMBER_ID,
    name: 'sora',
    subcommand: 'generate',
    options,
    ...(extra.attachments ? { attachments: extra.attachments } : {}),
  });
}

/** One JSON log line of the bot process. */
export type LogLine = Record<string, unknown> & { level: number; msg?: string };

/** The bot running as its own process (`node dist/src/main.js`, as `npm start` runs it). */
export interface BotProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[];
  /** Lines on stdout that were not JSON (should stay empty). */
  readonly otherOutput: string[];
  readonly exited: Promise<number | null>;
  /** Resolves with the first log line matching `predicate` (already logged or to come). */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends a signal and waits for the exit code. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Options of one end-to-end world. */
export interface WorldOptions {
  discord?: DiscordEmulatorOptions;
  ace?: AceDataEmulatorOptions;
  /** Extra environment for the bot (strings). */
  env?: Record<string, string>;
  /** `STORE_URL`; default a fresh sqlite file in a temp directory. */
  storeUrl?: string;
  /** Guild names to create (each with one text channel `general`); default one guild. */
  guilds?: string[];
  /** Node flags of every bot process; default those of `npm start` (the bench's V8-defaults anchor overrides them). */
  nodeFlags?: readonly string[];
}

/** Two emulators and a store, shared by the bot processes a test starts and restarts. */
export interface World {
  readonly discord: DiscordEmulator;
  readonly ace: AceDataEmulator;
  readonly guilds: GuildState[];
  readonly storeUrl: string;
  readonly env: Record<string, string>;
  /** The node flags every bot process of the world starts with. */
  readonly nodeFlags: readonly string[];
  /** The bot currently running, if any. */
  bot: BotProcess | undefined;
  /** Starts the bot and waits until it logged in and recovered its tasks. */
  startBot(extraEnv?: Record<string, string>): Promise<BotProcess>;
  /** The first text channel of a guild. */
  channelOf(guild: GuildState): string;
  close(): Promise<void>;
}

/** A member id that every guild of the world has (17–19 digit snowflakes, as Discord's). */
export const MEMBER_ID = '412345678901234567';

/** Starts the emulators and returns a world; call `startBot()` to run the bot in it. */
export async function createWorld(options: WorldOptions = {}): Promise<World> {
  const discord = await startDiscordEmulator({ heartbeatIntervalMs: 1000, ...options.discord });
  const ace = await startAceDataEmulator({ generationTimeMs: 500, ...options.ace });
  const guilds = (options.guilds ?? ['Sora Lab']).map((name) =>
    discord.addGuild({ name, channels: [{ name: 'general' }], members: [{ id: MEMBER_ID, username: 'alice' }] }),
  );
  const tempDir = mkdtempSync(join(tmpdir(), 'sora-e2e-'));
  const storeUrl = options.storeUrl ?? `sqlite://${join(tempDir, 'bot.sqlite')}`;
  const nodeFlags = options.nodeFlags ?? startNodeFlags();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    DISCORD_TOKEN: discord.token,
    DISCORD_API_URL: discord.apiUrl,
    ACEDATA_API_TOKEN: ace.apiToken,
    ACEDATA_BASE_URL: ace.url,
    STORE_URL: storeUrl,
    POLL_INTERVAL_MS: '200',
    SUBMIT_MIN_INTERVAL_MS: '0',
    MEMBER_COOLDOWN_SECONDS: '0',
    ACEDATA_REQUEST_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'debug',
    // Off unless a test asks (`freePort()`): parallel bots would all want the default 8080.
    HTTP_PORT: 'off',
    // The suite was written for Sora: every model on, Sora's the default. The model tests override both.
    VIDEO_MODELS: MODEL_IDS.join(','),
    DEFAULT_VIDEO_MODEL: 'sora-2',
    ...options.env,
  };

  const world: World = {
    discord,
    ace,
    guilds,
    storeUrl,
    env,
    nodeFlags,
    bot: undefined,
    async startBot(extraEnv = {}) {
      const bot = spawnBot({ ...env, ...extraEnv }, nodeFlags);
      world.bot = bot;
      await untilReady(bot);
      return bot;
    },
    channelOf(guild) {
      return guild.channelIds[0]!;
    },
    async close() {
      if (world.bot && world.bot.child.exitCode === null && world.bot.child.signalCode === null) {
        await world.bot.kill('SIGKILL');
      }
      await Promise.allSettled([discord.close(), ace.close()]);
      rmSync(tempDir, { recursive: true, force: true });
    },
  };
  return world;
}

/**
 * Starts one more bot process in the world, beside `world.bot` (several processes on one Redis), and
 * waits until it serves commands; the caller stops it.
 */
export async function startExtraBot(world: World, extraEnv: Record<string, string> = {}): Promise<BotProcess> {
  const bot = spawnBot({ ...world.env, ...extraEnv }, world.nodeFlags);
  await untilReady(bot);
  return bot;
}

/** Starts one more bot process in the world without waiting for it: for a start that should fail. */
export function spawnExtraBot(world: World, extraEnv: Record<string, string> = {}): BotProcess {
  return spawnBot({ ...world.env, ...extraEnv }, world.nodeFlags);
}

/** Waits for the bot's "ready" line (logged in, its tasks recovered or taken over). */
async function untilReady(bot: BotProcess): Promise<void> {
  await Promise.race([
    bot.waitForLog((l) => l.msg === 'ready to serve commands', 20_000),
    bot.exited.then((code) => {
      throw new Error(`bot exited with ${code} before it was ready:\n${bot.otherOutput.join('\n')}`);
    }),
  ]);
}

function spawnBot(env: Record<string, string>, nodeFlags: readonly string[]): BotProcess {
  // BOT_EXEC_ARGV: node flags for the bot only, to profile it inside a test or the bench
  // (e.g. `--inspect=127.0.0.1:9339`; NODE_OPTIONS refuses --cpu-prof). Last, so they win.
  const extraFlags = process.env.BOT_EXEC_ARGV?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeFlags, ...extraFlags, 'dist/src/main.js'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const otherOutput: string[] = [];
  const waiters = new Set<() => void>();
  const onLine = (line: string) => {
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      otherOutput.push(line);
    }
    for (const waiter of waiters) waiter();
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', (line) => otherOutput.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  return {
    child,
    logs,
    otherOutput,
    exited,
    waitForLog(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = logs.find(predicate);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching bot log line within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

// ---- helpers for crash, restart and scale scenarios (additions) ----

/** Resolves once `predicate` returns a value (checked every 20 ms): for state an emulator does not announce. */
export function waitUntil<T>(predicate: () => T | undefined | null | false, timeoutMs = 10_000, what = 'a condition'): Promise<T> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const check = () => {
      let value: T | undefined | null | false;
      try {
        value = predicate();
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (value !== undefined && value !== null && value !== false) return resolve(value);
      if (Date.now() - startedAt > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(check, 20);
    };
    check();
  });
}

/** Waits `ms`: gives a duplicate the chance to show up before counting (never an assertion by itself). */
export function settle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A REST request as it reached the Discord emulator, before it was answered. */
export interface ArrivingRequest {
  method: string;
  /** The path after `/api/v10`, e.g. `/channels/123/messages`. */
  path: string;
}

/**
 * Resolves when a REST request matching `predicate` has *arrived* at the Discord emulator, body and
 * all. The emulator records a request only once it answers it; this sees it come in, so a test can
 * kill the bot while the request is in flight (e.g. one held back with `delayNext`) and know the
 * emulator will still process it.
 */
export function waitForDiscordRequestArrival(
  discord: DiscordEmulator,
  predicate: (request: ArrivingRequest) => boolean,
  timeoutMs = 10_000,
): Promise<ArrivingRequest> {
  // The emulator keeps its node:http server private; listening beside its own handler changes nothing.
  const server = (discord as unknown as { server?: Server }).server;
  if (!server || typeof server.on !== 'function') throw new Error('discord emulator: no http server to watch');
  return new Promise((resolve, reject) => {
    const onRequest = (req: IncomingMessage) => {
      const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      if (!pathname.startsWith('/api/v10/')) return;
      const arriving: ArrivingRequest = {
        method: (req.method ?? 'GET').toUpperCase(),
        path: decodeURIComponent(pathname.slice('/api/v10'.length)),
      };
      if (!predicate(arriving)) return;
      clearTimeout(timer);
      server.off('request', onRequest);
      // 'end' only observes: the emulator's own handler is the one reading the body.
      if (req.complete) resolve(arriving);
      else req.once('end', () => resolve(arriving));
    };
    const timer = setTimeout(() => {
      server.off('request', onRequest);
      reject(new Error(`no matching Discord request arrived within ${timeoutMs} ms`));
    }, timeoutMs);
    server.on('request', onRequest);
  });
}

/**
 * Kills the running bot with SIGKILL (no shutdown code runs) and waits until the Discord emulator saw
 * its gateway connection close, so the next `startBot()` is the only live session.
 */
export async function crashBot(world: World): Promise<void> {
  const bot = world.bot;
  if (!bot) throw new Error('no bot to crash');
  await bot.kill('SIGKILL');
  await world.discord.waitFor(() => !world.discord.isGatewayConnected, 10_000, 'the killed bot’s gateway socket to close');
}

/** Our footer on a public result message: `Task <id> · <marker>[ · <model>][ · Ace Data Cloud task <id>]`. */
export interface ResultFooter {
  taskId: string;
  marker: string;
  providerTaskId: string | undefined;
}

/** Reads the bot's result footer from a message's embeds (undefined for any other message). */
export function resultFooterOf(message: { embeds: ReadonlyArray<{ footer?: { text?: string } }> }): ResultFooter | undefined {
  for (const embed of message.embeds) {
    const match =
      /^Task (\S+) · (video|failed|still generating|interrupted)(?: · (?!Ace Data Cloud)[\w.-]+)?(?: · Ace Data Cloud task (\S+))?/.exec(
        embed.footer?.text ?? '',
      );
    if (match) return { taskId: match[1]!, marker: match[2]!, providerTaskId: match[3] };
  }
  return undefined;
}

/** Provider task ids a `/sora/tasks` request asked for (`ids` of a batch, or the single `id`). */
export function idsAskedIn(request: { body: unknown }): string[] {
  const body = request.body as { ids?: unknown; id?: unknown } | undefined;
  if (Array.isArray(body?.ids)) return body.ids.filter((id): id is string => typeof id === 'string');
  return typeof body?.id === 'string' ? [body.id] : [];
}

// ---- helpers for the operations HTTP server (additions) ----

/** A TCP port on 127.0.0.1 that was free a moment ago, for `HTTP_PORT` (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The text of an ephemeral answer: an ephemeral reply, or the ephemeral deferred reply once edited
 * (asserts the acknowledgement is one of the two, and ephemeral).
 */
/**
 * The first text the member saw: the answer itself (callback type 4, when the task was stored in
 * time), or the first edit of the deferred reply. Either way ephemeral.
 */
export async function firstAnswerText(handle: InteractionHandle, waitMs = 15_000): Promise<string> {
  const ack = await handle.waitForAck(waitMs);
  expect([4, 5]).toContain(ack.type);
  expect(Number(ack.data?.flags ?? 0) & 64).toBe(64);
  if (ack.type === 4) return typeof ack.data?.content === 'string' ? ack.data.content : '';
  await handle.waitForOriginal((m) => m.content.length > 0, waitMs);
  const content = handle.originalEdits[0]?.body?.content;
  return typeof content === 'string' ? content : '';
}

export async function ephemeralText(handle: InteractionHandle, waitMs = 15_000): Promise<string> {
  const ack = await handle.waitForAck(waitMs);
  expect([4, 5]).toContain(ack.type);
  expect(Number(ack.data?.flags ?? 0) & 64).toBe(64);
  if (ack.type === 4) return typeof ack.data?.content === 'string' ? ack.data.content : '';
  const original = await handle.waitForOriginal((m) => m.content.length > 0, waitMs);
  return original.content;
}
