import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuildState, InteractionHandle, OptionInput } from '../emulators/discord/index.js';
import { createWorld, freePort, resultFooterOf, settle, type World, sendGenerate } from './harness.js';

const WAIT_MS = 20_000;
const FAILURE_MESSAGE = 'The prompt was refused by the safety system.';

// One model of each service beside Sora's own e2e: image-to-video, delivered on the callback alone,
// and a failure whose reason reaches the member.
const MODELS = ['veo31-fast', 'kling-v2-6', 'seedance-2-0-fast', 'hailuo', 'wan2.6', 'luma', 'sora-2'] as const;

describe('e2e: every service end to end with an image, on callbacks, and failing', { timeout: 120_000 }, () => {
  let world: World;
  let guild: GuildState;
  let channelId: string;

  const generate = (options: Record<string, OptionInput>, withImage: boolean): InteractionHandle =>
    sendGenerate(world, guild, options, {
      channelId,
      ...(withImage ? { attachments: { image: { filename: 'still.png', size: 4096, width: 1280, height: 720 } } } : {}),
    });

  const submitOf = (prompt: string) =>
    world.ace.requests.find((r) => r.path.endsWith('/videos') && JSON.stringify(r.body).includes(prompt));

  beforeAll(async () => {
    world = await createWorld({
      env: { MAX_ACTIVE_GENERATIONS: '14', GUILD_MAX_ACTIVE_GENERATIONS: '14', MEMBER_DAILY_QUOTA: '0', MEMBER_COOLDOWN_SECONDS: '0' },
      ace: {
        generationTimeMs: 500,
        planner: (body) =>
          JSON.stringify(body).includes('(fail)')
            ? { outcome: 'failed', errorCode: 'content_policy', errorMessage: FAILURE_MESSAGE }
            : undefined,
      },
    });
    guild = world.guilds[0]!;
    channelId = world.channelOf(guild);
    const port = await freePort();
    // Polls every 60 s (× 6 while callbacks are on): a result within seconds can only come from a callback.
    await world.startBot({ HTTP_PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, POLL_INTERVAL_MS: '60000' });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('sends the image in each service’s own field, delivers each video once from the callback, and no status request is needed', async () => {
    const handles = MODELS.map((model) => ({ model, handle: generate({ prompt: `an image of ${model} comes alive`, model }, true) }));
    await world.discord.waitFor(
      () => world.discord.channelMessages(channelId).filter((m) => resultFooterOf(m)?.marker === 'video').length >= MODELS.length,
      WAIT_MS,
      'a video from every service',
    );
    await settle(500);
    for (const { model, handle } of handles) {
      const prompt = `an image of ${model} comes alive`;
      const submit = submitOf(prompt);
      expect(submit, model).toBeDefined();
      const imageUrl = Object.values(
        (handle.payload.data as { resolved: { attachments: Record<string, { url: string }> } }).resolved.attachments,
      )[0]!.url;
      expect(JSON.stringify(submit!.body), `${model} carries the image`).toContain(imageUrl);
      const callbackUrl = String((submit!.body as { callback_url?: unknown }).callback_url);
      expect(callbackUrl, model).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callbacks\//);
      const results = world.discord.channelMessages(channelId).filter((m) => m.embeds[0]?.description?.includes(prompt));
      expect(results, model).toHaveLength(1);
      expect(results[0]!.attachments, model).toHaveLength(1);
      expect(results[0]!.embeds[0]?.footer?.text, model).toContain(` · ${model} · `);
    }
    expect(world.ace.callbacks.filter((c) => c.status === 200)).toHaveLength(MODELS.length);
    expect(world.ace.requests.filter((r) => r.path.endsWith('/tasks'))).toHaveLength(0);
  });

  it('tells the member each service’s failure reason, with no video and no second message', async () => {
    const handles = MODELS.map((model) => ({ model, handle: generate({ prompt: `${model} is refused (fail)`, model }, false) }));
    for (const { model, handle } of handles) {
      const reply = await handle.waitForOriginal((m) => m.content.includes(FAILURE_MESSAGE), WAIT_MS);
      expect(reply.content, model).toContain(FAILURE_MESSAGE);
    }
    // Each failure came on its callback and was taken (Sora's failure body has a task_id, the others' none).
    expect(world.ace.callbacks.filter((c) => JSON.stringify(c.body).includes(FAILURE_MESSAGE)).map((c) => c.status)).toEqual(
      MODELS.map(() => 200),
    );
    await settle(500);
    for (const { model } of handles) {
      const posted = world.discord.channelMessages(channelId).filter((m) => JSON.stringify(m).includes(`${model} is refused`));
      expect(
        posted.every((m) => m.attachments.length === 0),
        model,
      ).toBe(true);
      expect(posted.length, model).toBeLessThanOrEqual(1);
    }
  });
});
