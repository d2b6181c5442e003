import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, freePort, MEMBER_ID, type World } from './harness.js';

async function post(url: string, body: unknown): Promise<number> {
  const response = await request(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  await response.body.dump();
  return response.statusCode;
}

describe('e2e: provider callbacks (PUBLIC_URL)', () => {
  let world: World;
  let publicUrl: string;

  beforeAll(async () => {
    world = await createWorld({ ace: { generationTimeMs: 400 } });
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    // Polls every 10 s × 6 (the safety net): a delivery within seconds can only come from the callback.
    await world.startBot({ HTTP_PORT: String(port), PUBLIC_URL: publicUrl, POLL_INTERVAL_MS: '10000' });
  });
  afterAll(async () => {
    await world.close();
  });

  it('submits with a secret callback URL, delivers on the callback alone, and refuses forged and replayed callbacks', async () => {
    const guild = world.guilds[0]!;
    const channelId = world.channelOf(guild);
    const handle = world.discord.sendCommand({
      guildId: guild.id,
      channelId,
      userId: MEMBER_ID,
      name: 'sora',
      subcommand: 'generate',
      options: { prompt: 'a paper boat on a rainy street' },
    });
    await handle.waitForAck();
    const message = await world.discord.waitForMessage(channelId, (m) => m.content.includes(MEMBER_ID), 8_000);
    expect(message.attachments).toHaveLength(1);

    const submit = world.ace.requestsTo('/sora/videos')[0]!;
    const callbackUrl = String((submit.body as { callback_url?: unknown }).callback_url);
    expect(callbackUrl.startsWith(`${publicUrl}/callbacks/sora?`)).toBe(true);
    expect(new URL(callbackUrl).searchParams.get('s')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(world.ace.callbacks).toHaveLength(1);
    expect(world.ace.callbacks[0]!.status).toBe(200);
    // Nothing but the callback told the bot: no status request went out before the result.
    expect(world.ace.requestsTo('/sora/tasks')).toHaveLength(0);

    const realBody = world.ace.callbacks[0]!.body;
    const forged = new URL(callbackUrl);
    forged.searchParams.set('s', 'A'.repeat(32));
    expect(await post(forged.toString(), realBody)).toBe(404);
    const unknown = new URL(callbackUrl);
    unknown.searchParams.set('task', 'zzzzzzzzzz');
    expect(await post(unknown.toString(), realBody)).toBe(404);
    expect(await post(callbackUrl, realBody)).toBe(404);

    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(world.discord.channelMessages(channelId)).toHaveLength(1);
    expect(world.bot!.logs.some((line) => JSON.stringify(line).includes(new URL(callbackUrl).searchParams.get('s')!))).toBe(false);
  });
});
