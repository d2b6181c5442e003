import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelState, GuildState, OptionInput } from '../emulators/discord/index.js';
import { createWorld, ephemeralText, MEMBER_ID, settle, type World, sendGenerate, firstAnswerText } from './harness.js';

const WAIT_MS = 15_000;
// Discord's channel option type: the emulator then resolves the channel like Discord does.
const CHANNEL_OPTION = 7;

describe('e2e: /sora-admin', { timeout: 60_000 }, () => {
  let world: World;
  let guild: GuildState;
  let general: string;
  let videos: ChannelState;

  const admin = (
    subcommandGroup: string | undefined,
    subcommand: string,
    options: Record<string, OptionInput> = {},
    userId = guild.ownerId,
  ) =>
    world.discord.sendCommand({
      guildId: guild.id,
      channelId: general,
      userId,
      name: 'sora-admin',
      ...(subcommandGroup ? { subcommandGroup } : {}),
      subcommand,
      options,
    });

  const generate = (channelId: string, prompt: string) => sendGenerate(world, guild, { prompt }, { channelId });

  beforeAll(async () => {
    world = await createWorld();
    guild = world.guilds[0]!;
    general = world.channelOf(guild);
    videos = world.discord.addChannel(guild.id, { name: 'videos' });
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('refuses a member without Manage Server, and changes nothing', async () => {
    const handle = admin('channels', 'add', { channel: { type: CHANNEL_OPTION, value: videos.id } }, MEMBER_ID);
    expect(await ephemeralText(handle)).toMatch(/Only members with the Manage Server permission/);
    // Nothing was restricted: the member can still make a video in #general.
    const allowed = generate(general, 'a lighthouse at dusk');
    const ack = await allowed.waitForAck(WAIT_MS);
    expect([4, 5]).toContain(ack.type);
    await world.discord.waitForMessage(general, (m) => m.content.includes(MEMBER_ID), WAIT_MS);
  });

  it('lets the admin restrict videos to one channel; a member elsewhere is refused and nothing is submitted', async () => {
    const set = admin('channels', 'add', { channel: { type: CHANNEL_OPTION, value: videos.id } });
    expect(await ephemeralText(set)).toContain(`<#${videos.id}>`);

    const submitsBefore = world.ace.requestsTo('/sora/videos').length;
    const refused = generate(general, 'a red fox in the snow');
    const refusal = await ephemeralText(refused);
    expect(refusal).toMatch(/can't be made in this channel/);
    expect(refusal).toContain(`<#${videos.id}>`);
    await settle(500);
    expect(world.ace.requestsTo('/sora/videos')).toHaveLength(submitsBefore);

    // The allowed channel still works, so the refusal was about the channel.
    const accepted = generate(videos.id, 'a red fox in the snow');
    await firstAnswerText(accepted, WAIT_MS);
    await world.discord.waitForMessage(videos.id, (m) => m.content.includes(MEMBER_ID), WAIT_MS);
    expect(world.ace.requestsTo('/sora/videos')).toHaveLength(submitsBefore + 1);

    const shown = await ephemeralText(admin(undefined, 'settings'));
    expect(shown).toContain(`Videos allowed in: <#${videos.id}>`);
    // The real discord.js cache answers `permissionsFor(me)` for the configured channel.
    const checked = await ephemeralText(admin(undefined, 'check'));
    expect(checked).toContain(`<#${videos.id}> (videos allowed): ready`);
    expect(checked).toContain(`<#${general}> (this channel): ready`);
  });
});
