import { afterEach, describe, expect, it } from 'vitest';
import type { InteractionHandle } from '../emulators/discord/index.js';
import { crashBot, createWorld, resultFooterOf, settle, spawnExtraBot, type World, sendGenerate } from './harness.js';

/**
 * One bot process per sqlite file (README "Running in production → Storage"): a second process on
 * the same file (two containers on one volume, an overlapping restart) refuses to start, so no task
 * is submitted or posted twice; a holder killed with SIGKILL leaves no lock behind.
 */

const WAIT_MS = 30_000;
// A duplicate post would come within a few poll intervals (200 ms).
const SETTLE_MS = 1_000;

const worlds: World[] = [];
afterEach(async () => {
  await Promise.allSettled(worlds.splice(0).map((w) => w.close()));
});

function generate(world: World, prompt: string): InteractionHandle {
  const guild = world.guilds[0]!;
  const handle = sendGenerate(world, guild, { prompt });
  if (handle.deliveredTo === 0) throw new Error('the command reached no live gateway session');
  return handle;
}

function submitsOf(world: World, prompt: string) {
  return world.ace.requestsTo('/sora/videos').filter((r) => (r.body as { prompt?: unknown } | undefined)?.prompt === prompt);
}

/** Generates one video and checks it was submitted once and posted once. */
async function expectOneDelivery(world: World, prompt: string): Promise<void> {
  const handle = generate(world, prompt);
  await handle.waitForOriginal((m) => m.content.startsWith('✅ Done'), WAIT_MS);
  await settle(SETTLE_MS);
  expect(submitsOf(world, prompt), `submits of "${prompt}"`).toHaveLength(1);
  const providerTaskId = [...world.ace.tasks.values()].find((t) => t.request.prompt === prompt)?.id;
  const posts = world.discord
    .channelMessages(world.channelOf(world.guilds[0]!))
    .filter((m) => resultFooterOf(m)?.providerTaskId === providerTaskId);
  expect(posts, `posts of "${prompt}"`).toHaveLength(1);
}

describe('e2e: one bot process per sqlite file', () => {
  it('a second process on the same file exits non-zero naming the file and Redis; the first keeps serving; after kill -9 of the first a new one starts', async () => {
    const world = await createWorld({ discord: { ackDeadlineMs: 10_000 } });
    worlds.push(world);
    const storePath = world.storeUrl.replace(/^sqlite:\/\//, '');
    await world.startBot();

    const second = spawnExtraBot(world);
    const code = await Promise.race([
      second.exited,
      second
        .waitForLog((line) => line.msg === 'ready to serve commands', WAIT_MS)
        .then(async () => {
          await second.kill('SIGKILL');
          return 'ready';
        }),
    ]);
    expect(code, 'the second process exits by itself, with a non-zero code').toSatisfy((c) => typeof c === 'number' && c !== 0);
    const fatal = second.logs.find((line) => line.msg === 'could not start');
    expect(fatal, `the second process's logs: ${JSON.stringify(second.logs.slice(-3))}`).toBeDefined();
    const message = String((fatal!.err as { message?: unknown } | undefined)?.message);
    expect(message).toContain(storePath);
    expect(message).toMatch(/another bot process/);
    expect(message).toContain('STORE_URL=redis://');
    expect(message).toContain('Scaling out');
    expect(second.logs.some((line) => line.msg === 'ready to serve commands')).toBe(false);
    expect(world.discord.liveShards(), 'live gateway sessions').toHaveLength(1);

    await expectOneDelivery(world, 'a lighthouse in a storm');

    await crashBot(world);
    await world.startBot();
    await expectOneDelivery(world, 'a fox in fresh snow');
  }, 120_000);
});
