import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InteractionHandle } from '../emulators/discord/index.js';
import { createWorld, ephemeralText, resultFooterOf, type World, sendGenerate } from './harness.js';

const GENERATION_MS = 1_500;
const WAIT_MS = 20_000;
const TIMESTAMP = /<t:(\d+):R>/g;

describe('e2e: estimated start and ready time of a waiting generation', { timeout: 90_000 }, () => {
  let world: World;
  let channelId: string;
  let prompts = 0;

  const generate = (): { handle: InteractionHandle; prompt: string } => {
    const guild = world.guilds[0]!;
    const prompt = `eta probe ${++prompts}`;
    const handle = sendGenerate(world, guild, { prompt, model: 'sora-2' }, { channelId });
    return { handle, prompt };
  };
  const delivered = async (count: number) => {
    const results = () => world.discord.channelMessages(channelId).filter((m) => resultFooterOf(m)?.marker === 'video');
    const start = Date.now();
    while (results().length < count) {
      if (Date.now() - start > WAIT_MS) throw new Error(`only ${results().length} of ${count} results posted`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  beforeAll(async () => {
    world = await createWorld({ ace: { generationTimeMs: GENERATION_MS }, env: { MAX_ACTIVE_GENERATIONS: '1' } });
    channelId = world.channelOf(world.guilds[0]!);
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('shows no estimate before the model finished a few generations, then a <t:…:R> start within a sane range', async () => {
    // Nothing learned yet: the queued member sees the position only.
    const running = generate();
    expect(await ephemeralText(running.handle)).toMatch(/Generating|Queued/);
    const waiting = generate();
    const before = await ephemeralText(waiting.handle);
    expect(before).toMatch(/position 1/);
    expect(before).not.toMatch(TIMESTAMP);
    await delivered(2);
    const third = generate();
    await ephemeralText(third.handle);
    await delivered(3);

    // Three finished sora-2 generations: the next waiting member gets a start and a ready estimate.
    const nextRunning = generate();
    expect(await ephemeralText(nextRunning.handle)).toMatch(/Generating|Queued/);
    const sentAtS = Date.now() / 1000;
    const queued = generate();
    const text = await ephemeralText(queued.handle);
    expect(text).toMatch(/position 1/);
    const [start, ready] = [...text.matchAll(TIMESTAMP)].map((m) => Number(m[1]));
    expect(text).toContain('Estimated start');
    // Behind one generation of ~1.5 s (plus polling): it starts within seconds, not minutes, and not in the past.
    expect(start).toBeGreaterThanOrEqual(Math.floor(sentAtS) - 1);
    expect(start).toBeLessThanOrEqual(sentAtS + 30);
    expect(ready).toBeGreaterThan(start! - 1);
    expect(ready).toBeLessThanOrEqual(start! + 30);
    await delivered(5);
  });
});
