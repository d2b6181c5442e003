import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuildState } from '../emulators/discord/index.js';
import { createWorld, firstAnswerText, ephemeralText, MEMBER_ID, settle, type World } from './harness.js';

const WAIT_MS = 15_000;

describe('e2e: per-member cooldown and the remaining quota', { timeout: 60_000 }, () => {
  let world: World;
  let guild: GuildState;
  let general: string;

  beforeAll(async () => {
    // The harness turns the cooldown off for the other e2e tests; this one runs with it on.
    world = await createWorld({ env: { MEMBER_COOLDOWN_SECONDS: '60', MEMBER_DAILY_QUOTA: '5' } });
    guild = world.guilds[0]!;
    general = world.channelOf(guild);
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  const generate = (prompt: string, locale?: string) =>
    world.discord.sendCommand({
      guildId: guild.id,
      channelId: general,
      userId: MEMBER_ID,
      name: 'sora',
      subcommand: 'generate',
      options: { prompt },
      ...(locale ? { locale } : {}),
    });

  it('refuses a burst with when to try again, submitting nothing; an admin can turn it off', async () => {
    const first = await firstAnswerText(generate('a kite over the dunes'));
    expect(first).toMatch(/^⏳ Queued/);
    expect(first).toContain('4 of 5 videos left today (UTC).');
    await world.discord.waitForMessage(general, (m) => m.content.includes(MEMBER_ID), WAIT_MS);
    const submits = world.ace.requestsTo('/sora/videos').length;
    expect(submits).toBe(1);

    // Right after: refused, in the member's language, with Discord's relative timestamp.
    const refused = await ephemeralText(generate('a second kite', 'ja'));
    const retryAt = /<t:(\d+):R>/.exec(refused)?.[1];
    expect(refused).toMatch(/^⚠️ 動画の作成が速すぎます/);
    expect(Number(retryAt)).toBeGreaterThan(Date.now() / 1000 + 30);
    await settle(500);
    expect(world.ace.requestsTo('/sora/videos')).toHaveLength(submits);

    // The admin turns the cooldown off for this server: the next one goes through at once.
    const off = world.discord.sendCommand({
      guildId: guild.id,
      channelId: general,
      userId: guild.ownerId,
      name: 'sora-admin',
      subcommand: 'limits',
      options: { cooldown: 0 },
    });
    expect(await ephemeralText(off)).toContain('Wait between two videos of a member: none');
    const accepted = await firstAnswerText(generate('a third kite'));
    expect(accepted).toContain('3 of 5 videos left today (UTC).');
    await world.discord.waitFor(() => world.ace.requestsTo('/sora/videos').length === submits + 1, WAIT_MS, 'the second submit');
  });
});
