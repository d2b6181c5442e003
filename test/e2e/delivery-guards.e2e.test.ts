import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BOT_PERMISSIONS, PermissionBits, type GuildState, type InteractionHandle } from '../emulators/discord/index.js';
import { createWorld, ephemeralText, MEMBER_ID, settle, type World, sendGenerate, firstAnswerText } from './harness.js';

const WAIT_MS = 15_000;

/**
 * Issue 11: spend only on what can still be delivered. One generation holds the only slot
 * (MAX_ACTIVE_GENERATIONS=1), so the next ones wait in the queue; then their channel is deleted,
 * the bot's permission there removed, or the bot removed from the server. Each waiting job ends
 * unsubmitted, its member is told why, and none of them uses quota or budget. Servers outside
 * ALLOWED_GUILD_IDS are left, at start and when the bot is added to one.
 */
describe('e2e: delivery guards', { timeout: 90_000 }, () => {
  let world: World;
  let main: GuildState;
  let kicked: GuildState;
  let outsider: GuildState;
  let general: string;
  let doomed: string;
  let locked: string;

  beforeAll(async () => {
    world = await createWorld({
      guilds: ['Main', 'Kicked', 'Outsider'],
      env: { MAX_ACTIVE_GENERATIONS: '1', MEMBER_DAILY_QUOTA: '5' },
    });
    [main, kicked, outsider] = world.guilds as [GuildState, GuildState, GuildState];
    general = world.channelOf(main);
    doomed = world.discord.addChannel(main.id, { name: 'doomed' }).id;
    locked = world.discord.addChannel(main.id, { name: 'locked' }).id;
    await world.startBot({ ALLOWED_GUILD_IDS: `${main.id},${kicked.id}` });
  });
  afterAll(async () => {
    await world?.close();
  });

  const generate = (prompt: string, guild: GuildState = main, channelId = general) => sendGenerate(world, guild, { prompt }, { channelId });
  const submitsOf = (prompt: string) =>
    world.ace.requestsTo('/sora/videos').filter((r) => (r.body as { prompt?: unknown } | undefined)?.prompt === prompt);

  /** The first text of the member's reply: the job is accepted and waits in the queue. */
  async function queued(handle: InteractionHandle): Promise<string> {
    await firstAnswerText(handle, WAIT_MS);
    const original = await handle.waitForOriginal((m) => m.content.length > 0, WAIT_MS);
    expect(original.content).toMatch(/^⏳ Queued — position 1/);
    return original.content;
  }

  it('a server not in ALLOWED_GUILD_IDS is left at start, with one log line', async () => {
    await world.discord.waitFor(() => world.discord.leftGuildIds.includes(outsider.id), WAIT_MS, 'the bot to leave the outsider');
    expect(world.discord.leftGuildIds).toEqual([outsider.id]);
    const lines = world.bot!.logs.filter((l) => l.guildId === outsider.id && /not in ALLOWED_GUILD_IDS/.test(l.msg ?? ''));
    expect(lines).toHaveLength(1);
  });

  it('a server not in ALLOWED_GUILD_IDS that adds the bot later is left on GUILD_CREATE', async () => {
    const late = world.discord.addGuild({ name: 'Late outsider', channels: [{ name: 'general' }], members: [{ id: MEMBER_ID }] });
    await world.discord.waitFor(() => world.discord.leftGuildIds.includes(late.id), WAIT_MS, 'the bot to leave the late outsider');
    expect(world.discord.leftGuildIds).toEqual([outsider.id, late.id]);
  });

  it('the server sets a daily budget of 2 credits (two sora-2 10 s videos)', async () => {
    const set = world.discord.sendCommand({
      guildId: main.id,
      channelId: general,
      userId: main.ownerId,
      name: 'sora-admin',
      subcommand: 'limits',
      options: { 'daily-budget': 2 },
    });
    expect(await ephemeralText(set)).toMatch(/2/);
  });

  let blockerTaskId: string;
  it('a long generation in the server that will remove the bot takes the only slot', async () => {
    world.ace.setGenerationTimeMs(10 * 60_000);
    const handle = generate('the blocker', kicked, world.channelOf(kicked));
    await world.discord.waitFor(() => submitsOf('the blocker').length === 1, WAIT_MS, 'the blocker submit');
    await handle.waitForAck(WAIT_MS);
    blockerTaskId = [...world.ace.tasks.values()].find((t) => t.request.prompt === 'the blocker')!.id;
  });

  it('(a) the channel is deleted while the job waits: not submitted, the member is told', async () => {
    const handle = generate('doomed job', main, doomed);
    await queued(handle);
    world.discord.deleteChannel(doomed);
    const told = await handle.waitForOriginal((m) => /no longer exists/.test(m.content), WAIT_MS);
    expect(told.content).toMatch(/^✖️ `[^`]+` was not sent to Ace Data Cloud/);
    expect(told.content).toContain('does not count against your daily quota');
    expect(told.components ?? []).toHaveLength(0);
  });

  it("(b) the bot's permission is removed while the job waits: not submitted, the member is told what is missing", async () => {
    const handle = generate('locked job', main, locked);
    await queued(handle);
    world.discord.setBotPermissions(locked, PermissionBits.ViewChannel | PermissionBits.SendMessages);
    const told = await handle.waitForOriginal((m) => /can no longer post/.test(m.content), WAIT_MS);
    expect(told.content).toContain(`<#${locked}>`);
    expect(told.content).toContain('missing: AttachFiles, EmbedLinks');
  });

  it("(b') the bot's role loses a permission server-wide (GUILD_ROLE_UPDATE): the same", async () => {
    const handle = generate('role job');
    await queued(handle);
    world.discord.setGuildBotPermissions(main.id, DEFAULT_BOT_PERMISSIONS & ~PermissionBits.EmbedLinks);
    const told = await handle.waitForOriginal((m) => /can no longer post/.test(m.content), WAIT_MS);
    expect(told.content).toContain('missing: EmbedLinks');
    // Given back, so the server's next command is accepted again.
    world.discord.setGuildBotPermissions(main.id, DEFAULT_BOT_PERMISSIONS);
  });

  it('(c) the bot is removed from the server while the job waits: not submitted, the member is told', async () => {
    const handle = generate('kicked job', kicked, world.channelOf(kicked));
    await queued(handle);
    world.discord.removeGuild(kicked.id);
    const told = await handle.waitForOriginal((m) => /no longer in this server/.test(m.content), WAIT_MS);
    expect(told.content).toMatch(/^✖️/);
    // The bot was removed, it did not leave: nothing to leave again.
    expect(world.discord.leftGuildIds).not.toContain(kicked.id);
  });

  it('the generation already running there is followed to its end but not posted into the server that removed the bot', async () => {
    world.ace.setGenerationTimeMs(200);
    world.ace.finishTask(blockerTaskId);
    const line = await world.bot!.waitForLog((l) => l.msg === 'result undeliverable' && l.code === 'guild_gone', WAIT_MS);
    expect(line.guildId).toBe(kicked.id);
    const posts = world.discord.requests.filter((r) => r.method === 'POST' && r.path.includes(`/channels/${world.channelOf(kicked)}/`));
    expect(posts).toHaveLength(0);
  });

  it('none of them used quota or budget, and none is ever submitted, even once the slot frees', async () => {
    // Quota 5: only this one counts (4 left); the three blocked jobs of this server do not.
    // Budget 2: were they counted, they would have spent it and this would be refused.
    const after = generate('after the guards');
    const text = await after.waitForOriginal((m) => m.content.length > 0, WAIT_MS);
    expect(text.content).toContain('4 of 5 videos left today (UTC).');

    await world.discord.waitFor(() => submitsOf('after the guards').length === 1, WAIT_MS, 'the next submit');
    await world.discord.waitForMessage(general, (m) => m.embeds[0]?.description === 'after the guards', WAIT_MS);
    await settle(500);
    for (const prompt of ['doomed job', 'locked job', 'role job', 'kicked job']) expect(submitsOf(prompt)).toHaveLength(0);
    expect(world.ace.requestsTo('/sora/videos')).toHaveLength(2);
    expect(world.bot!.child.exitCode).toBeNull();
  });
});

describe('e2e: delivery guards across a restart', { timeout: 90_000 }, () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld({ env: { MAX_ACTIVE_GENERATIONS: '1' } });
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('a channel deleted while the bot was down ends its waiting job at start, unsubmitted, the member told', async () => {
    const guild = world.guilds[0]!;
    const side = world.discord.addChannel(guild.id, { name: 'side' }).id;
    const generate = (prompt: string, channelId: string) => sendGenerate(world, guild, { prompt }, { channelId });
    world.ace.setGenerationTimeMs(10 * 60_000);
    generate('holds the slot', world.channelOf(guild));
    await world.discord.waitFor(() => world.ace.requestsTo('/sora/videos').length === 1, WAIT_MS, 'the first submit');
    const waiting = generate('waits across the restart', side);
    await waiting.waitForOriginal((m) => /^⏳ Queued/.test(m.content), WAIT_MS);

    expect(await world.bot!.kill('SIGTERM')).toBe(0);
    // No session is connected: the bot never sees a CHANNEL_DELETE for it.
    world.discord.deleteChannel(side);
    await world.startBot();

    const told = await waiting.waitForOriginal((m) => /no longer exists/.test(m.content), WAIT_MS);
    expect(told.content).toMatch(/^✖️/);
    await settle(300);
    expect(world.ace.requestsTo('/sora/videos')).toHaveLength(1);
  });
});
