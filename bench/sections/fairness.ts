import { createBenchWorld, logTimeMs, sendPaced, submittedLines, targetsOf, type Target, startBotPatiently } from '../bench-world.js';
import { verdict, type SectionResult } from '../report.js';
import { formatMs, jainIndex, until } from '../stats.js';
import type { BenchMode } from './mode.js';

const SECTION = 'fairness';
const JAIN_TARGET = 0.95;

/** One guild with 100 jobs (sent first), nine with 5: order of service and Jain's index while all wait. */
export async function fairness(mode: BenchMode): Promise<SectionResult> {
  const bigJobs = mode.quick ? 40 : 100;
  const smallJobs = 5;
  const smallGuilds = 9;
  const world = await createBenchWorld({
    guildCount: 1 + smallGuilds,
    ace: { generationTimeMs: 500 },
    // Production caps (5 at once, 3 per guild); a short poll so the section ends quickly.
    env: { MAX_ACTIVE_GENERATIONS: '5', GUILD_MAX_ACTIVE_GENERATIONS: '3', POLL_INTERVAL_MS: '250' },
  });
  try {
    await startBotPatiently(world);
    const [big, ...small] = targetsOf(world);
    const label = new Map<string, string>([[big!.guildId, 'B'], ...small.map((t, i): [string, string] => [t.guildId, String(i + 1)])]);
    const order: Target[] = [...Array<Target>(bigJobs).fill(big!), ...small.flatMap((t) => Array<Target>(smallJobs).fill(t))];
    const sent = await sendPaced(world, order, 50);
    const smallTotal = smallGuilds * smallJobs;
    const logs = () => world.bot!.logs;
    // Every small guild served completely (and logged), whatever the big guild still has.
    const lines = await until(
      () => {
        const submitted = submittedLines(logs());
        const smallDone = submitted.filter((l) => label.get(l.guildId) !== 'B').length;
        return smallDone >= smallTotal - sent.notAcked ? submitted : undefined;
      },
      120_000,
      'every small guild to be served',
      50,
    );
    const guildOfProvider = new Map(lines.map((l) => [l.providerTaskId, l.guildId]));
    const served = [...world.ace.tasks.values()]
      .filter((t) => guildOfProvider.has(t.id))
      .sort((a, b) => a.index - b.index)
      .map((t) => ({ guildId: guildOfProvider.get(t.id)!, atMs: t.submittedAtMs }));

    const queuedAt = new Map<string, number>();
    for (const line of logs()) {
      if (line.msg !== 'task queued') continue;
      const guildId = String(line.guildId);
      if (!queuedAt.has(guildId)) queuedAt.set(guildId, logTimeMs(line));
    }
    const lastServedAt = new Map<string, number>();
    for (const s of served) lastServedAt.set(s.guildId, s.atMs);
    // Contended: from the moment every guild has a job waiting to the first moment one has none left.
    const fromMs = Math.max(...queuedAt.values());
    const toMs = Math.min(...[...label.keys()].map((g) => lastServedAt.get(g) ?? Number.POSITIVE_INFINITY));
    const shares = [...label.keys()].map((g) => served.filter((s) => s.guildId === g && s.atMs >= fromMs && s.atMs <= toMs).length);
    const jain = jainIndex(shares);
    const sequence = served.map((s) => label.get(s.guildId) ?? '?').join('');
    return {
      rows: [
        {
          section: SECTION,
          metric: `Jain's index, submits per guild while all 10 wait (B=${bigJobs} jobs, 9×${smallJobs})`,
          value: `${jain.toFixed(3)} (shares B,1..9 = ${shares.join(',')}; ${formatMs(toMs - fromMs)})`,
          target: `≥ ${JAIN_TARGET}`,
          verdict: verdict(jain >= JAIN_TARGET),
        },
        {
          section: SECTION,
          metric: 'order of service (first 60 submits)',
          value: sequence.slice(0, 60),
          verdict: 'info',
        },
      ],
      notes: [
        `fairness: the big guild's ${bigJobs} commands were sent before the small guilds' ${smallTotal}; MAX_ACTIVE_GENERATIONS 5, GUILD_MAX_ACTIVE_GENERATIONS 3; order of service is the provider's submit order (B = big guild, 1–9 = small guilds); ${sent.notAcked} commands not acked.`,
      ],
    };
  } finally {
    await world.close();
  }
}
