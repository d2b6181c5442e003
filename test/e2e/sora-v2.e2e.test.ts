import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttachmentInput, GuildState, InteractionHandle } from '../emulators/discord/index.js';
import { createWorld, ephemeralText, MEMBER_ID, settle, type World, sendGenerate } from './harness.js';

const WAIT_MS = 15_000;

async function png(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 40, g: 160, b: 90, alpha: 1 } } })
    .png()
    .toBuffer();
}

describe('e2e: Sora v2 reference images are fitted to the requested pixel size', { timeout: 60_000 }, () => {
  let world: World;
  let guild: GuildState;
  let channelId: string;

  const generate = (prompt: string, size: string, image: AttachmentInput): InteractionHandle =>
    sendGenerate(world, guild, { prompt, model: 'sora-2-v2', size }, { channelId, attachments: { image } });

  const submitsWithPrompt = (prompt: string) =>
    world.ace.requestsTo('/sora/videos').filter((r) => (r.body as { prompt?: unknown } | undefined)?.prompt === prompt);

  const resultFor = (prompt: string) =>
    world.discord.waitForMessage(channelId, (m) => m.content.includes(MEMBER_ID) && JSON.stringify(m.embeds).includes(prompt), WAIT_MS);

  beforeAll(async () => {
    world = await createWorld({ env: { VIDEO_MODELS: 'sora-2-v2,veo31-fast', DEFAULT_VIDEO_MODEL: 'veo31-fast' } });
    guild = world.guilds[0]!;
    channelId = world.channelOf(guild);
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('fits a 640×640 PNG to 1280×720, hosts it on an ephemeral follow-up and sends that URL', async () => {
    const prompt = 'a lighthouse at dawn, waves below';
    const handle = generate(prompt, '1280x720', { filename: 'square.png', data: await png(640, 640), width: 640, height: 640 });
    const ack = await handle.waitForAck();
    expect(handle.ackLatencyMs).toBeLessThan(3000);
    expect(ack).toMatchObject({ type: 5, data: { flags: 64 } });

    const result = await resultFor(prompt);
    const submits = submitsWithPrompt(prompt);
    expect(submits).toHaveLength(1);
    const body = submits[0]!.body as { version?: unknown; size?: unknown; image_urls?: string[] };
    expect(body).toMatchObject({ version: '2.0', model: 'sora-2', size: '1280x720' });
    expect(body.image_urls).toHaveLength(1);
    const imageUrl = body.image_urls![0]!;

    // The URL is the attachment of the bot's ephemeral follow-up (not the member's 640×640 upload).
    const followUp = handle.followUps.find((m) => m.attachments.length > 0);
    expect(followUp, 'a follow-up with the fitted image').toBeDefined();
    expect(followUp!.flags & 64).toBe(64);
    expect(followUp!.content).toContain('1280×720');
    expect(followUp!.content).toContain('sora-2-v2');
    expect(followUp!.attachments[0]!.url).toBe(imageUrl);
    expect(followUp!.id).not.toBe(handle.originalMessageId);

    // What Ace Data Cloud would read: fetched over HTTP from the emulated CDN.
    const fetched = await fetch(imageUrl);
    expect(fetched.status).toBe(200);
    const metadata = await sharp(Buffer.from(await fetched.arrayBuffer())).metadata();
    expect(metadata).toMatchObject({ format: 'png', width: 1280, height: 720 });

    // The progress reply went on in @original, and the video was delivered once.
    expect(handle.original?.attachments ?? []).toHaveLength(0);
    expect(result.attachments).toHaveLength(1);
    await settle(500);
    expect(world.discord.channelMessages(channelId).filter((m) => JSON.stringify(m.embeds).includes(prompt))).toHaveLength(1);
  });

  it('sends an image that already has the size as it is, without a re-upload', async () => {
    const prompt = 'a paper plane over rooftops';
    const handle = generate(prompt, '1280x720', { filename: 'exact.png', data: await png(1280, 720), width: 1280, height: 720 });
    await resultFor(prompt);
    const submits = submitsWithPrompt(prompt);
    expect(submits).toHaveLength(1);
    const memberUrl = (handle.payload as { data: { resolved: { attachments: Record<string, { url: string }> } } }).data.resolved
      .attachments;
    expect((submits[0]!.body as { image_urls?: string[] }).image_urls).toEqual([Object.values(memberUrl)[0]!.url]);
    expect(handle.followUps.filter((m) => m.attachments.length > 0)).toHaveLength(0);
  });

  it('refuses an attachment that is not an image, before anything is sent to Ace Data Cloud', async () => {
    const prompt = 'this should never be submitted';
    const text = await ephemeralText(
      generate(prompt, '720x1280', { filename: 'fake.png', data: Buffer.from('not a picture at all') }),
      WAIT_MS,
    );
    expect(text).toMatch(/^⚠️ .*could not be read as a PNG, JPEG, WebP or GIF image/);
    await settle(300);
    expect(submitsWithPrompt(prompt)).toHaveLength(0);
  });
});
