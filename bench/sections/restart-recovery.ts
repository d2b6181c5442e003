import { createBenchWorld, roundRobin, sendPaced, submittedLines, targetsOf, startBotPatiently } from '../bench-world.js';
import { verdict, type SectionResult } from '../report.js';
import { formatMs, sleep, until } from '../stats.js';
import type { BenchMode } from './mode.js';

const SECTION = 'restart';
// The production default: recovery is measured in poll intervals.
const POLL_INTERVAL_MS = 5000;
const PER_GUILD_RUNNING = 5;
const PER_GUILD_QUEUED = 10;
const FINISHED_WHILE_DOWN = 10;

/** kill -9 with many queued and 500 running, restart on the same store: until all are polled and the queue serves again. */
export async function restartRecovery(mode: BenchMode): Promise<SectionResult> {
  const running = mode.quick ? 100 : 500;
  const guilds = running / PER_GUILD_RUNNING;
  const jobs = guilds * (PER_GUILD_RUNNING + PER_GUILD_QUEUED);
  const world = await createBenchWorld({
    guildCount: guilds,
    ace: { generationTimeMs: 60 * 60_000 },
    env: {
      MAX_ACTIVE_GENERATIONS: String(running),
      GUILD_MAX_ACTIVE_GENERATIONS: String(PER_GUILD_RUNNING),
      POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
    },
  });
  try {
    await startBotPatiently(world);
    const sent = await sendPaced(world, roundRobin(targetsOf(world), jobs), 100);
    if (sent.notAcked > 0) throw new Error(`${sent.notAcked} of ${jobs} commands were not acked`);
    await until(() => submittedLines(world.bot!.logs).length >= running, 120_000, `${running} submitted tasks`, 100);
    // Every queued task written too, and the first polls done: a steady state to crash in.
    await sleep(POLL_INTERVAL_MS);
    const runningIds = new Set([...world.ace.tasks.values()].filter((t) => t.state === 'running').map((t) => t.id));

    await world.bot!.kill('SIGKILL');
    await until(() => !world.discord.isGatewayConnected, 10_000, 'the gateway socket to close');
    // Generations that ended while the bot was down: their slots must serve the queue after the restart.
    for (const id of [...runningIds].slice(0, FINISHED_WHILE_DOWN)) world.ace.finishTask(id);

    const restartAt = Date.now();
    const bot = await startBotPatiently(world);
    const readyAt = Date.now();
    const polledAt = await until(
      () => {
        const asked = new Set<string>();
        let lastMs = 0;
        for (const request of world.ace.requestsTo('/sora/tasks')) {
          if (request.timeMs < restartAt) continue;
          const ids = (request.body as { ids?: string[] } | undefined)?.ids ?? [];
          for (const id of ids) if (runningIds.has(id)) asked.add(id);
          lastMs = request.timeMs;
          if (asked.size === runningIds.size) return lastMs;
        }
        return undefined;
      },
      4 * POLL_INTERVAL_MS + 30_000,
      `every running task polled after the restart`,
      20,
    );
    const submitAt = await until(
      () => world.ace.requestsTo('/sora/videos').find((r) => r.timeMs >= restartAt)?.timeMs,
      4 * POLL_INTERVAL_MS + 30_000,
      'the first submit after the restart',
      20,
    );
    const recovered = bot.logs.find((l) => l.msg === 'recovered unfinished tasks')?.resumed;
    const targetMs = 2 * POLL_INTERVAL_MS + 2000;
    const worstMs = Math.max(polledAt, submitAt) - restartAt;
    return {
      rows: [
        {
          section: SECTION,
          metric: `kill -9 with ${running} running + ${jobs - running} queued (${FINISHED_WHILE_DOWN} finished while down): start → ready`,
          value: `${formatMs(readyAt - restartAt)} (${String(recovered)} tasks recovered)`,
          verdict: 'info',
        },
        {
          section: SECTION,
          metric: `  start → all ${runningIds.size} running tasks polled once`,
          value: formatMs(polledAt - restartAt),
          target: `≤ ${formatMs(targetMs)}`,
          verdict: verdict(polledAt - restartAt <= targetMs),
        },
        {
          section: SECTION,
          metric: '  start → first submit from the queue',
          value: formatMs(submitAt - restartAt),
          target: `≤ ${formatMs(targetMs)}`,
          verdict: verdict(submitAt - restartAt <= targetMs && worstMs <= targetMs),
        },
      ],
      notes: [
        `restart: ${guilds} guilds × (${PER_GUILD_RUNNING} running + ${PER_GUILD_QUEUED} queued), POLL_INTERVAL_MS ${POLL_INTERVAL_MS}, sqlite store, same emulators; times from spawning the new process (node start-up, login and recovery included).`,
      ],
    };
  } finally {
    await world.close();
  }
}
