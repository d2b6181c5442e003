/**
 * `npm run profile:burst [-- --jobs=N] [-- --out=DIR]`: where a burst of `/sora generate` spends the
 * bot's CPU and allocation. Starts the compiled bot in 1 000 emulated guilds (as the bench's memory
 * section does) with the inspector on a free loopback port, samples CPU and every allocation
 * (collected ones too) while N commands arrive, then forces a full collection to show the live heap.
 * Writes `burst.cpuprofile` and `burst.heapprofile` (open them in Chrome DevTools) and prints the
 * heap figures and the top packages and functions by CPU self time and by bytes allocated.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'undici';
import { freePort } from '../test/e2e/harness.js';
import { botPid, createBenchWorld, roundRobin, sendPaced, startBotPatiently, targetsOf } from './bench-world.js';
import { sampleProc } from './proc-stats.js';
import { sleep } from './stats.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
}
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}
interface HeapProfile {
  head: HeapNode;
}

/** A minimal Chrome DevTools Protocol session over the inspector's WebSocket. */
async function openInspector(port: number): Promise<{ call: <T>(method: string, params?: object) => Promise<T>; close: () => void }> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve());
    socket.addEventListener('error', () => reject(new Error('could not reach the bot inspector')));
  });
  let nextId = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter || message.id === undefined) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result);
  });
  return {
    call: <T>(method: string, params: object = {}) =>
      new Promise<T>((resolve, reject) => {
        const id = ++nextId;
        pending.set(id, { resolve: (value) => resolve(value as T), reject });
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}

/** The package of a frame (`sqlite3`, `@discordjs/rest`), `bot:<module>` for the bot's own code. */
function packageOf(frame: CallFrame): string {
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (dependency) return dependency[1]!;
  const own = /dist\/src\/(.+)$/.exec(frame.url);
  if (own) return `bot:${own[1]}`;
  return frame.url || `(${frame.functionName || 'native'})`;
}

function functionOf(frame: CallFrame): string {
  const where = frame.url.replace(/.*node_modules\//, '').replace(/.*dist\/src\//, 'bot:');
  return `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
}

function top(totals: Map<string, number>, count: number, unit: (value: number) => string): string[] {
  const sum = [...totals.values()].reduce((a, b) => a + b, 0);
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, value]) => `  ${((value / sum) * 100).toFixed(1).padStart(5)}%  ${unit(value).padStart(9)}  ${name}`);
}

function add(totals: Map<string, number>, key: string, value: number): void {
  totals.set(key, (totals.get(key) ?? 0) + value);
}

function cpuTotals(profile: CpuProfile, key: (frame: CallFrame) => string): Map<string, number> {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const totals = new Map<string, number>();
  for (const id of profile.samples) add(totals, key(frames.get(id)!), 1);
  return totals;
}

function allocationTotals(profile: HeapProfile, key: (frame: CallFrame) => string): Map<string, number> {
  const totals = new Map<string, number>();
  const stack = [profile.head];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.selfSize > 0) add(totals, key(node.callFrame), node.selfSize);
    stack.push(...node.children);
  }
  return totals;
}

const mb = (bytes: number): string => `${(bytes / 1_000_000).toFixed(1)} MB`;

const args = process.argv.slice(2);
const jobs = Number(args.find((a) => a.startsWith('--jobs='))?.slice('--jobs='.length) ?? 5_000);
const outDir = args.find((a) => a.startsWith('--out='))?.slice('--out='.length) ?? 'bench/profiles';
const unknown = args.filter((a) => !a.startsWith('--jobs=') && !a.startsWith('--out='));
if (!Number.isInteger(jobs) || jobs < 1 || unknown.length > 0) {
  console.error('usage: npm run profile:burst [-- --jobs=N (a positive whole number, default 5000)] [-- --out=DIR]');
  process.exit(2);
}
const port = await freePort();
process.env.BOT_EXEC_ARGV = `${process.env.BOT_EXEC_ARGV ?? ''} --inspect=127.0.0.1:${port}`;

const world = await createBenchWorld({ guildCount: 1_000, ace: { generationTimeMs: 60 * 60_000 }, env: { MAX_ACTIVE_GENERATIONS: '1' } });
try {
  await startBotPatiently(world);
  const pid = botPid(world);
  await sleep(2_000);
  const inspector = await openInspector(port);
  const heapUsed = async (): Promise<number> => {
    const answer = await inspector.call<{ result: { value: number } }>('Runtime.evaluate', {
      expression: 'process.memoryUsage().heapUsed',
    });
    return answer.result.value;
  };
  const report = async (label: string) =>
    console.log(`${label.padEnd(28)} RSS ${mb(sampleProc(pid).rssBytes)}, heap used ${mb(await heapUsed())}`);
  await report('idle');
  await inspector.call('Profiler.enable');
  await inspector.call('Profiler.setSamplingInterval', { interval: 200 });
  await inspector.call('Profiler.start');
  await inspector.call('HeapProfiler.startSampling', {
    samplingInterval: 16_384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const sent = await sendPaced(world, roundRobin(targetsOf(world), jobs), 150);
  const { profile: cpu } = await inspector.call<{ profile: CpuProfile }>('Profiler.stop');
  const { profile: heap } = await inspector.call<{ profile: HeapProfile }>('HeapProfiler.stopSampling');
  console.log(`${jobs} commands in ${(sent.elapsedMs / 1000).toFixed(1)} s, ${sent.notAcked} not acked`);
  await report('after the burst');
  await inspector.call('HeapProfiler.collectGarbage');
  await report('after a full collection');
  inspector.close();

  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'burst.cpuprofile'), JSON.stringify(cpu));
  writeFileSync(join(outDir, 'burst.heapprofile'), JSON.stringify(heap));
  const allocated = [...allocationTotals(heap, packageOf).values()].reduce((a, b) => a + b, 0);
  console.log(`\nallocated during the burst: ${mb(allocated)} (${(allocated / jobs / 1000).toFixed(0)} KB per command)`);
  const samples = (value: number) => `${value} smp`;
  console.log('\nCPU self time by package:', ...top(cpuTotals(cpu, packageOf), 15, samples).map((l) => `\n${l}`));
  console.log('\nCPU self time by function:', ...top(cpuTotals(cpu, functionOf), 15, samples).map((l) => `\n${l}`));
  console.log('\nallocation by package:', ...top(allocationTotals(heap, packageOf), 15, mb).map((l) => `\n${l}`));
  console.log('\nallocation by function:', ...top(allocationTotals(heap, functionOf), 15, mb).map((l) => `\n${l}`));
  console.log(`\nprofiles written to ${outDir}/burst.cpuprofile and ${outDir}/burst.heapprofile`);
} finally {
  await world.close();
}
