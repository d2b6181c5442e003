import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelState, GuildState } from '../emulators/discord/index.js';
import { createWorld, ephemeralText, MEMBER_ID, resultFooterOf, settle, type World } from './harness.js';

const WAIT_MS = 15_000;
const CHANNEL_OPTION = 7;

describe('e2e: result buttons', { timeout: 60_000 }, () => {
  let world: World;
  let guild: GuildState;
  let general: string;
  let showcase: ChannelState;

  beforeAll(async () => {
    world = await createWorld();
    guild = world.guilds[0]!;
    general = world.channelOf(guild);
    showcase = world.discord.addChannel(guild.id, { name: 'showcase' });
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  const click = (messageId: string, action: string, userId = MEMBER_ID) => {
    const message = world.discord.message(messageId)!;
    const taskId = resultFooterOf(message)!.taskId;
    return world.discord.sendButton({ messageId, customId: `sora:${action}:${taskId}`, userId });
  };

  it('Regenerate submits again and posts a second message; Delete by the requester removes it; Share posts once', async () => {
    const set = world.discord.sendCommand({
      guildId: guild.id,
      channelId: general,
      userId: guild.ownerId,
      name: 'sora-admin',
      subcommand: 'showcase',
      options: { channel: { type: CHANNEL_OPTION, value: showcase.id } },
    });
    expect(await ephemeralText(set)).toMatch(/Showcase channel set/);

    world.discord.sendCommand({
      guildId: guild.id,
      channelId: general,
      userId: MEMBER_ID,
      name: 'sora',
      subcommand: 'generate',
      options: { prompt: 'a paper boat on a river' },
    });
    const first = await world.discord.waitForMessage(general, (m) => resultFooterOf(m)?.marker === 'video', WAIT_MS);
    const buttons = JSON.stringify(first.components);
    for (const action of ['regen', 'remix', 'share', 'delete']) expect(buttons).toContain(`sora:${action}:`);

    // Regenerate: acknowledged ephemerally at once, a second submit, a second result message.
    const regen = click(first.id, 'regen');
    expect(await ephemeralText(regen)).toMatch(/Queued|position|Generating/);
    expect(regen.ackLatencyMs).toBeLessThan(3000);
    const second = await world.discord.waitForMessage(general, (m) => m.id !== first.id && resultFooterOf(m)?.marker === 'video', WAIT_MS);
    expect(world.ace.requestsTo('/sora/videos')).toHaveLength(2);
    expect(world.ace.requestsTo('/sora/videos')[1]!.body).toMatchObject({ prompt: 'a paper boat on a river' });

    // Delete: someone else is refused; the requester removes the message.
    world.discord.addMember(guild.id, { id: '412345678901234999', username: 'bob' });
    const intruder = click(second.id, 'delete', '412345678901234999');
    expect(await ephemeralText(intruder)).toMatch(/Only the member who asked/);
    expect(world.discord.message(second.id)).toBeDefined();
    const del = click(second.id, 'delete');
    expect(await ephemeralText(del)).toMatch(/Deleted/);
    await world.discord.waitFor(
      () => !world.discord.channelMessages(general).some((m) => m.id === second.id),
      WAIT_MS,
      'the deleted message',
    );

    // Share: posted once in the showcase channel; a second press is refused.
    const share = click(first.id, 'share');
    expect(await ephemeralText(share)).toMatch(/Shared in/);
    const posted = await world.discord.waitForMessage(showcase.id, () => true, WAIT_MS);
    expect(posted.content).toContain(`<@${MEMBER_ID}>`);
    expect(posted.attachments).toHaveLength(1);
    const again = click(first.id, 'share');
    expect(await ephemeralText(again)).toMatch(/already shared/);
    await settle(300);
    expect(world.discord.channelMessages(showcase.id)).toHaveLength(1);
  });
});
