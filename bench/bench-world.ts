import type { InteractionHandle } from '../test/emulators/discord/index.js';
import { createWorld, MEMBER_ID, type BotProcess, type LogLine, type World, type WorldOptions } from '../test/e2e/harness.js';
import { sleep } from './stats.js';

/** Where one `/sora generate` is sent. */
export interface Target {
  guildId: string;
  channelId: string;
  /** A model other than the server's default. */
  model?: string;
}

/** Settings every benchmark bot runs with, on top of the harness's; sections override what they measure. */
export const BENCH_ENV: Readonly<Record<string, string>> = Object.freeze({
  // Production log level: debug logging would measure pino, not the bot.
  LOG_LEVEL: 'info',
  // One emulated member sends every command; the quota would refuse most of them.
  MEMBER_DAILY_QUOTA: '0',
  SUBMIT_MIN_INTERVAL_MS: '0',
  // Two noisy shared cores: a loaded emulator must not turn into `uncertain` submits.
  ACEDATA_REQUEST_TIMEOUT_MS: '15000',
});

/** Options of `createBenchWorld`. */
export interface BenchWorldOptions extends Omit<WorldOptions, 'guilds'> {
  /** Number of guilds (each with one text channel and the member). */
  guildCount: number;
}

/** A harness world with `guildCount` guilds and the benchmark's default environment. */
export async function createBenchWorld(options: BenchWorldOptions): Promise<World> {
  const { guildCount, env, ...rest } = options;
  const names = Array.from({ length: guildCount }, (_, i) => `bench-${String(i + 1).padStart(4, '0')}`);
  return createWorld({ ...rest, guilds: names, env: { ...BENCH_ENV, ...env } });
}

/** The first channel of every guild of the world, in order. */
export function targetsOf(world: World): Target[] {
  return world.guilds.map((guild) => ({ guildId: guild.id, channelId: world.channelOf(guild) }));
}

/**
 * When the member first saw an answer with content (the queue position): the callback itself when the
 * bot answered directly (type 4), else the first accepted edit of the deferred reply.
 */
export function answerShownAt(handle: InteractionHandle): number | undefined {
  const answer = handle.callbacks.find((c) => c.status < 300 && c.type === 4);
  if (answer) return answer.at;
  return handle.webhookCalls.find((c) => c.method === 'PATCH' && c.target === '@original' && c.status < 300)?.at;
}

/** `count` targets taken round-robin from `targets`. */
export function roundRobin(targets: readonly Target[], count: number): Target[] {
  return Array.from({ length: count }, (_, i) => targets[i % targets.length]!);
}

/** Sends one `/sora generate` (options kept minimal: the defaults are what most members use). */
export function sendGenerate(world: World, target: Target, prompt = 'a lighthouse at dusk, slow pan'): InteractionHandle {
  return world.discord.sendCommand({
    guildId: target.guildId,
    channelId: target.channelId,
    userId: MEMBER_ID,
    name: 'sora',
    subcommand: 'generate',
    options: target.model ? { prompt, model: target.model } : { prompt },
  });
}

/** Resolves when every handle got a callback (accepted or not) or `timeoutMs` passed; returns the unanswered. */
export async function waitForCallbacks(handles: readonly InteractionHandle[], timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const unanswered = handles.filter((h) => h.callbacks.length === 0).length;
    if (unanswered === 0 || Date.now() > deadline) return unanswered;
    await sleep(20);
  }
}

/** Result of `sendPaced`. */
export interface PacedResult {
  handles: InteractionHandle[];
  elapsedMs: number;
  /** Interactions without an accepted callback (late, refused or unanswered). */
  notAcked: number;
}

/**
 * Sends one command per target, keeping at most `window` unanswered at a time (a real client cannot
 * push more than the bot acknowledges: unpaced, thousands at once would miss Discord's 3 s deadline).
 */
export function sendPaced(world: World, targets: readonly Target[], window: number, timeoutMs = 600_000): Promise<PacedResult> {
  const events = world.discord.events;
  const startedAt = Date.now();
  const handles: InteractionHandle[] = [];
  const waiting = new Set<string>();
  let next = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      events.off('interactionCallback', onCallback);
      reject(new Error(`sendPaced: ${waiting.size} interactions unanswered after ${timeoutMs} ms`));
    }, timeoutMs);
    const finishIfDone = (): void => {
      if (next < targets.length || waiting.size > 0) return;
      clearTimeout(timer);
      events.off('interactionCallback', onCallback);
      resolve({ handles, elapsedMs: Date.now() - startedAt, notAcked: handles.filter((h) => !h.acked).length });
    };
    const pump = (): void => {
      while (waiting.size < window && next < targets.length) {
        const handle = sendGenerate(world, targets[next++]!);
        handles.push(handle);
        waiting.add(handle.id);
      }
      finishIfDone();
    };
    const onCallback = (handle: InteractionHandle): void => {
      if (!waiting.delete(handle.id)) return;
      pump();
    };
    events.on('interactionCallback', onCallback);
    pump();
  });
}

/** One `submitted` log line of the bot: our task id, the provider's, the guild and the time. */
export interface SubmittedLine {
  taskId: string;
  providerTaskId: string;
  guildId: string;
  timeMs: number;
}

/** Every `submitted` line the bot has logged so far. */
export function submittedLines(logs: readonly LogLine[]): SubmittedLine[] {
  return logs
    .filter((line) => line.msg === 'submitted')
    .map((line) => ({
      taskId: String(line.taskId),
      providerTaskId: String(line.providerTaskId),
      guildId: String(line.guildId),
      timeMs: logTimeMs(line),
    }));
}

/** The pid of the world's running bot. */
export function botPid(world: World): number {
  const pid = world.bot?.child.pid;
  if (pid === undefined) throw new Error('no bot process');
  return pid;
}

/** The time of a bot log line (pino writes ISO strings), epoch ms. */
export function logTimeMs(line: LogLine): number {
  return typeof line.time === 'number' ? line.time : Date.parse(String(line.time));
}

/**
 * `world.startBot()` without the harness's 20 s limit (a bot in 1 000 guilds takes longer to log in):
 * resolves once the bot logged "recovered unfinished tasks", or rejects after `timeoutMs`.
 */
export async function startBotPatiently(world: World, timeoutMs = 180_000, extraEnv: Record<string, string> = {}): Promise<BotProcess> {
  try {
    return await world.startBot(extraEnv);
  } catch (err) {
    const bot = world.bot;
    if (!bot || bot.child.exitCode !== null || bot.child.signalCode !== null) throw err;
    await Promise.race([
      bot.waitForLog((line) => line.msg === 'recovered unfinished tasks', timeoutMs),
      bot.exited.then((code) => {
        throw new Error(`bot exited with ${code} before it was ready`);
      }),
    ]);
    return bot;
  }
}
