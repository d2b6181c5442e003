import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startAceDataEmulator, type AceDataEmulator, type AceDataEmulatorOptions } from '../emulators/acedata-emulator.js';
import {
  startDiscordEmulator,
  type DiscordEmulator,
  type DiscordEmulatorOptions,
  type GuildState,
} from '../emulators/discord/index.js';

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
}

/** Two emulators and a store, shared by the bot processes a test starts and restarts. */
export interface World {
  readonly discord: DiscordEmulator;
  readonly ace: AceDataEmulator;
  readonly guilds: GuildState[];
  readonly storeUrl: string;
  readonly env: Record<string, string>;
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
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    DISCORD_TOKEN: discord.token,
    DISCORD_API_URL: discord.apiUrl,
    ACEDATA_API_TOKEN: ace.apiToken,
    ACEDATA_BASE_URL: ace.url,
    STORE_URL: storeUrl,
    POLL_INTERVAL_MS: '200',
    SUBMIT_MIN_INTERVAL_MS: '0',
    ACEDATA_REQUEST_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'debug',
    ...options.env,
  };

  const world: World = {
    discord,
    ace,
    guilds,
    storeUrl,
    env,
    bot: undefined,
    async startBot(extraEnv = {}) {
      const bot = spawnBot({ ...env, ...extraEnv });
      world.bot = bot;
      await Promise.race([
        bot.waitForLog((l) => l.msg === 'recovered unfinished tasks', 20_000),
        bot.exited.then((code) => {
          throw new Error(`bot exited with ${code} before it was ready:\n${bot.otherOutput.join('\n')}`);
        }),
      ]);
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

function spawnBot(env: Record<string, string>): BotProcess {
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/src/main.js'], {
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
