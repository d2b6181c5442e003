import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIEmbed } from 'discord.js';
import type { GuildState, OptionInput } from '../emulators/discord/index.js';
import { createWorld, ephemeralText, freePort, MEMBER_ID, settle, type World, sendGenerate, firstAnswerText } from './harness.js';

const WAIT_MS = 15_000;
const FAILS = 'fails at the provider:';

describe('e2e: /sora-admin usage and GET /usage', { timeout: 90_000 }, () => {
  let world: World;
  let lab: GuildState;
  let second: GuildState;
  let opsUrl: string;
  const seen = new Set<string>();

  const admin = (guild: GuildState, subcommand: string, options: Record<string, OptionInput> = {}, userId = guild.ownerId) =>
    world.discord.sendCommand({ guildId: guild.id, channelId: world.channelOf(guild), userId, name: 'sora-admin', subcommand, options });

  /** Makes a video (or a provider failure) and waits for its public result. */
  async function generate(guild: GuildState, prompt: string, options: Record<string, OptionInput> = {}): Promise<void> {
    const channelId = world.channelOf(guild);
    const handle = sendGenerate(world, guild, { prompt, ...options }, { channelId });
    await firstAnswerText(handle, WAIT_MS);
    const result = await world.discord.waitForMessage(channelId, (m) => m.content.includes(MEMBER_ID) && !seen.has(m.id), WAIT_MS);
    seen.add(result.id);
  }

  beforeAll(async () => {
    world = await createWorld({ guilds: ['Sora Lab', 'Second Server'] });
    [lab, second] = [world.guilds[0]!, world.guilds[1]!];
    world.ace.setTaskPlanner((body) =>
      String(body.prompt).startsWith(FAILS) ? { outcome: 'failed', errorCode: 'api_error', errorMessage: 'the provider broke' } : undefined,
    );
    const port = await freePort();
    opsUrl = `http://127.0.0.1:${port}`;
    await world.startBot({ HTTP_PORT: String(port) });

    expect(await ephemeralText(admin(lab, 'limits', { 'daily-budget': 10 }))).toContain('10');
    await generate(lab, 'a lighthouse at dusk');
    await generate(lab, 'a red fox in the snow', { duration: 15 });
    await generate(lab, `${FAILS} a storm at sea`);
    await generate(second, 'a paper boat on a river');
  });
  afterAll(async () => {
    await world?.close();
  });

  it('answers an admin with an embed of the spend, counted as the budget counts, and a PNG chart', async () => {
    const handle = admin(lab, 'usage', { days: 3 });
    const ack = await handle.waitForAck(WAIT_MS);
    expect([4, 5]).toContain(ack.type);
    expect(Number(ack.data?.flags ?? 0) & 64).toBe(64);
    const reply = await handle.waitForOriginal((m) => m.embeds.length > 0, WAIT_MS);
    const embed = reply.embeds[0] as APIEmbed;
    expect(embed.title).toBe('Usage of the last 3 days');
    // sora-2 10 s = 1 credit, 15 s = 1.5; the provider failure is not counted.
    expect(embed.description).toContain('Total: **2** videos · **2.5** credits');
    expect(embed.description).toContain('Daily budget: **10** credits');
    expect(embed.description).toContain('1 not counted');
    const members = embed.fields?.find((f) => f.name === 'Top members')?.value ?? '';
    expect(members).toBe(`1. <@${MEMBER_ID}> · 2 videos · 2.5 credits`);
    expect(embed.fields?.find((f) => f.name === 'Per model')?.value).toBe('`sora-2` · 2 videos · 2.5 credits');
    expect(embed.image?.url).toBe('attachment://usage.png');
    expect(reply.allowedMentions?.parse ?? []).toEqual([]);

    expect(reply.attachments).toHaveLength(1);
    const attachment = reply.attachments[0]!;
    expect(attachment.filename).toBe('usage.png');
    const png = Buffer.from(await (await fetch(attachment.url)).arrayBuffer());
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 800, 300]);
  });

  it('answers in the admin’s language', async () => {
    const handle = world.discord.sendCommand({
      guildId: lab.id,
      channelId: world.channelOf(lab),
      userId: lab.ownerId,
      name: 'sora-admin',
      subcommand: 'usage',
      locale: 'ja',
    });
    const reply = await handle.waitForOriginal((m) => m.embeds.length > 0, WAIT_MS);
    expect(reply.embeds[0]?.title).toBe('過去 7 日間の利用状況');
    expect(reply.embeds[0]?.description).toContain('合計：動画 **2** 本 · **2.5** クレジット');
  });

  it('refuses a member without Manage Server and shows them nothing', async () => {
    const handle = admin(lab, 'usage', {}, MEMBER_ID);
    expect(await ephemeralText(handle)).toMatch(/Only members with the Manage Server permission/);
    await settle(300);
    expect(handle.original?.embeds ?? []).toEqual([]);
    expect(handle.original?.attachments ?? []).toEqual([]);
  });

  it('gives the operator every guild’s spend on GET /usage', async () => {
    const response = await fetch(`${opsUrl}/usage?days=2`);
    expect(response.status).toBe(200);
    const report = (await response.json()) as {
      days: string[];
      total: { videos: number; credits: number };
      guilds: Array<{ guildId: string; videos: number; credits: number }>;
      members: Array<{ userId: string }>;
      notCounted: number;
    };
    expect(report.days).toHaveLength(2);
    expect(report.total).toEqual({ videos: 3, credits: 3.5 });
    expect(report.notCounted).toBe(1);
    expect(report.guilds).toEqual([
      { guildId: lab.id, videos: 2, credits: 2.5 },
      { guildId: second.id, videos: 1, credits: 1 },
    ]);
    expect((await fetch(`${opsUrl}/usage?days=365`)).status).toBe(400);
    // Relayed by a proxy (the public callback path): as if the route were not there.
    expect((await fetch(`${opsUrl}/usage`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(404);
  });
});
