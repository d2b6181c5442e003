/**
 * `npm run bench [-- --quick] [-- --only=ack,slots,…]`: drives the compiled bot (`dist/src/main.js`,
 * as `npm start` runs it) through the local Discord and Ace Data Cloud emulators, prints one table
 * and writes it to bench/results.md. Figures are for side-by-side comparison within one run on
 * this machine, not absolute truths.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineDescription, renderTable, skippedSection, type SectionResult } from './report.js';
import { ackLatency } from './sections/ack-latency.js';
import { slotUtilisation } from './sections/slot-utilisation.js';
import { fairness } from './sections/fairness.js';
import { statusRequests } from './sections/status-requests.js';
import { deliveryLatency } from './sections/delivery-latency.js';
import { queuedMemory } from './sections/queued-memory.js';
import { restartRecovery } from './sections/restart-recovery.js';
import { largeVideo } from './sections/large-video.js';
import type { BenchMode } from './sections/mode.js';
import { formatMs } from './stats.js';

interface Section {
  key: string;
  title: string;
  run(mode: BenchMode): Promise<SectionResult>;
}

const SECTIONS: readonly Section[] = [
  { key: 'ack', title: 'ack latency', run: ackLatency },
  { key: 'slots', title: 'slot utilisation', run: slotUtilisation },
  { key: 'fairness', title: 'fairness', run: fairness },
  { key: 'polling', title: 'status requests', run: statusRequests },
  { key: 'delivery', title: 'delivery latency', run: deliveryLatency },
  { key: 'memory', title: 'memory with a long queue', run: queuedMemory },
  { key: 'restart', title: 'restart', run: restartRecovery },
  { key: 'video', title: 'large video', run: largeVideo },
];

function parseArgs(argv: readonly string[]): { mode: BenchMode; only: Set<string> | undefined } {
  const quick = argv.includes('--quick');
  const onlyArg = argv.find((a) => a.startsWith('--only='));
  const only = onlyArg ? new Set(onlyArg.slice('--only='.length).split(',').filter(Boolean)) : undefined;
  const unknown = argv.filter((a) => a !== '--quick' && !a.startsWith('--only='));
  if (unknown.length > 0 || (only && [...only].some((k) => !SECTIONS.some((s) => s.key === k)))) {
    console.error(`usage: npm run bench [-- --quick] [-- --only=${SECTIONS.map((s) => s.key).join(',')}]`);
    process.exit(2);
  }
  return { mode: { quick }, only };
}

async function main(): Promise<void> {
  const { mode, only } = parseArgs(process.argv.slice(2));
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const startedAt = new Date();
  const results: SectionResult[] = [];
  for (const section of SECTIONS) {
    if (only && !only.has(section.key)) continue;
    const sectionStart = performance.now();
    process.stderr.write(`bench: ${section.title}…\n`);
    try {
      results.push(await section.run(mode));
    } catch (err) {
      results.push(skippedSection(section.title, err instanceof Error ? err.message : String(err)));
    }
    process.stderr.write(`bench: ${section.title} took ${formatMs(performance.now() - sectionStart)}\n`);
  }
  const totalMs = Date.now() - startedAt.getTime();

  const table = renderTable(results.flatMap((r) => r.rows));
  const notes = results.flatMap((r) => r.notes);
  const header = [
    `Machine: ${machineDescription()}`,
    `Date: ${startedAt.toISOString()}`,
    `Command: \`${command}\` (${mode.quick ? 'quick' : 'full'} run, ${formatMs(totalMs)})`,
  ];
  const text = [
    '# Benchmark results',
    '',
    ...header.map((h) => `- ${h}`),
    '',
    table,
    '',
    ...(notes.length > 0 ? ['Notes:', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
  console.log(text);
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results.md');
  writeFileSync(out, text);
  process.stderr.write(`bench: written to ${out}\n`);
}

await main();
