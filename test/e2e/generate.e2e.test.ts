import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, MEMBER_ID, type World } from './harness.js';

describe('e2e: /sora generate, happy path', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld();
    await world.startBot();
  });
  afterAll(async () => {
    await world.close();
  });

  it('acknowledges at once, submits async, polls in batches and posts exactly one public message pinging only the member', async () => {
    const guild = world.guilds[0]!;
    const channelId = world.channelOf(guild);
    const handle = world.discord.sendCommand({
      guildId: guild.id,
      channelId,
      userId: MEMBER_ID,
      name: 'sora',
      subcommand: 'generate',
      options: {
        prompt: 'a red fox running through snow @everyone',
        model: 'sora-2-pro',
        duration: 15,
        orientation: 'portrait',
        size: 'large',
      },
    });
    await handle.waitForAck();
    expect(handle.ackLatencyMs).toBeLessThan(3000);
    // The task is stored within the budget, so the callback is the answer itself (type 4), ephemeral,
    // with the queue position: no deferral and no reply edit.
    expect(handle.callbacks[0]).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(String((handle.callbacks[0]!.data as { content?: string }).content)).toMatch(/position/i);

    const message = await world.discord.waitForMessage(channelId, (m) => m.content.includes(MEMBER_ID), 15_000);
    const submits = world.ace.requestsTo('/sora/videos');
    expect(submits).toHaveLength(1);
    expect(submits[0]!.body).toMatchObject({
      async: true,
      prompt: 'a red fox running through snow @everyone',
      model: 'sora-2-pro',
      duration: 15,
      orientation: 'portrait',
      size: 'large',
    });
    const polls = world.ace.requestsTo('/sora/tasks');
    expect(polls.length).toBeGreaterThan(0);
    expect(polls.every((p) => (p.body as { action?: string }).action === 'retrieve_batch')).toBe(true);

    expect(message.content).toContain(`<@${MEMBER_ID}>`);
    expect(message.attachments).toHaveLength(1);
    expect(message.attachments[0]!.filename).toMatch(/\.mp4$/);
    // Give a duplicate post a chance to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(world.discord.channelMessages(channelId)).toHaveLength(1);
  });
});
