import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuildState, OptionInput } from '../emulators/discord/index.js';
import { createWorld, ephemeralText, MEMBER_ID, resultFooterOf, settle, waitUntil, type World, sendGenerate } from './harness.js';

const WAIT_MS = 15_000;
const CHANNEL_OPTION = 7;

/** What a fresh install gets: no VIDEO_MODELS, no DEFAULT_VIDEO_MODEL (blank counts as unset). */
const FRESH_INSTALL = { VIDEO_MODELS: '', DEFAULT_VIDEO_MODEL: '' };

function generateIn(world: World, guild: GuildState, options: Record<string, OptionInput>) {
  return sendGenerate(world, guild, options);
}

describe('e2e: a fresh install with nothing but the two tokens', { timeout: 60_000 }, () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld({ env: FRESH_INSTALL });
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('makes a video with the default model (Veo 3.1 Fast), not with the retired Sora', async () => {
    const guild = world.guilds[0]!;
    generateIn(world, guild, { prompt: 'a hummingbird drinking from a flower' });
    const message = await world.discord.waitForMessage(world.channelOf(guild), (m) => resultFooterOf(m)?.marker === 'video', WAIT_MS);
    expect(world.ace.requestsTo('/sora/videos')).toHaveLength(0);
    const submits = world.ace.requestsTo('/veo/videos');
    expect(submits).toHaveLength(1);
    expect(submits[0]!.body).toEqual({
      action: 'text2video',
      model: 'veo31-fast',
      prompt: 'a hummingbird drinking from a flower',
      aspect_ratio: '16:9',
      async: true,
    });
    expect(world.ace.requestsTo('/veo/tasks').length).toBeGreaterThan(0);
    expect(message.attachments).toHaveLength(1);
    expect(message.embeds[0]?.title).toBe('Veo 3.1 Fast video');
    expect(message.embeds[0]?.footer?.text).toContain('veo31-fast');
  });

  it('autocompletes the served models, and the lengths of the chosen model', async () => {
    const guild = world.guilds[0]!;
    const models = world.discord.sendAutocomplete({
      guildId: guild.id,
      channelId: world.channelOf(guild),
      userId: MEMBER_ID,
      name: 'sora',
      subcommand: 'generate',
      options: { prompt: 'x', model: 'kling' },
      focused: 'model',
    });
    const answer = await models.waitForAck(WAIT_MS);
    expect(answer.type).toBe(8);
    const values = (answer.data?.choices as { value: string }[]).map((c) => c.value);
    expect(values.length).toBeGreaterThan(0);
    expect(values.every((value) => value.startsWith('kling-'))).toBe(true);

    const durations = world.discord.sendAutocomplete({
      guildId: guild.id,
      channelId: world.channelOf(guild),
      userId: MEMBER_ID,
      name: 'sora',
      subcommand: 'generate',
      options: { prompt: 'x', model: 'kling-v2-6', duration: '' },
      focused: 'duration',
    });
    const lengths = (await durations.waitForAck(WAIT_MS)).data?.choices as { value: number }[];
    expect(lengths.map((c) => c.value)).toEqual([5, 10]);
  });

  it('refuses Sora, which is not enabled, and a duration the model does not make, with no submit', async () => {
    const guild = world.guilds[0]!;
    const before = world.ace.requests.length;
    const sora = await ephemeralText(generateIn(world, guild, { prompt: 'a cat', model: 'sora-2' }));
    expect(sora).toContain('`sora-2` is not offered on this server');
    const kling = await ephemeralText(generateIn(world, guild, { prompt: 'a cat', model: 'kling-v2-6', duration: 7 }));
    expect(kling).toContain('`kling-v2-6` makes videos of 5, 10 seconds, not 7.');
    const veo = await ephemeralText(generateIn(world, guild, { prompt: 'a cat', model: 'veo31-fast', duration: 8 }));
    expect(veo).toContain('`veo31-fast` chooses the length itself');
    await settle(300);
    expect(world.ace.requests.slice(before).filter((r) => r.path.endsWith('/videos'))).toHaveLength(0);
  });
});

describe('e2e: one generation per service through the real bot', { timeout: 120_000 }, () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld({ env: { MAX_ACTIVE_GENERATIONS: '7', GUILD_MAX_ACTIVE_GENERATIONS: '7', MEMBER_DAILY_QUOTA: '0' } });
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  // One model of each service with options it takes, and the body its service must receive.
  const cases: Array<{ model: string; options: Record<string, OptionInput>; path: string; body: Record<string, unknown> }> = [
    {
      model: 'veo31',
      options: { orientation: 'portrait', size: '4k' },
      path: '/veo/videos',
      body: { action: 'text2video', model: 'veo31', aspect_ratio: '9:16', resolution: '4k' },
    },
    {
      model: 'kling-v2-6',
      options: { duration: 10, orientation: 'square', size: 'pro', avoid: 'blur' },
      path: '/kling/videos',
      body: { action: 'text2video', model: 'kling-v2-6', duration: 10, aspect_ratio: '1:1', mode: 'pro', negative_prompt: 'blur' },
    },
    {
      model: 'seedance-2-0-fast',
      options: { duration: 6, size: '480p' },
      path: '/seedance/videos',
      body: { model: 'doubao-seedance-2-0-fast-260128', duration: 6, resolution: '480p', ratio: '16:9' },
    },
    { model: 'hailuo', options: {}, path: '/hailuo/videos', body: { action: 'generate', model: 'minimax-t2v' } },
    {
      model: 'wan2.6',
      options: { duration: 15, size: '1080p' },
      path: '/wan/videos',
      body: { action: 'text2video', model: 'wan2.6-t2v', duration: 15, resolution: '1080P' },
    },
    { model: 'luma', options: { orientation: 'portrait' }, path: '/luma/videos', body: { action: 'generate', aspect_ratio: '9:16' } },
    {
      model: 'sora-2',
      options: { duration: 15, size: 'large' },
      path: '/sora/videos',
      body: { model: 'sora-2', duration: 15, orientation: 'landscape', size: 'large' },
    },
  ];

  it('submits to each service in its own shape, polls each tasks endpoint, and delivers each video once', async () => {
    const guild = world.guilds[0]!;
    const channelId = world.channelOf(guild);
    for (const { model, options } of cases) generateIn(world, guild, { prompt: `a test of ${model}`, model, ...options });

    await world.discord.waitFor(
      () => world.discord.channelMessages(channelId).filter((m) => resultFooterOf(m)?.marker === 'video').length >= cases.length,
      60_000,
      'a video from every service',
    );
    await settle(500);
    const messages = world.discord.channelMessages(channelId);
    expect(messages).toHaveLength(cases.length);
    for (const { model, path, body } of cases) {
      const submits = world.ace.requestsTo(path);
      expect(submits, path).toHaveLength(1);
      expect(submits[0]!.body, path).toMatchObject({ ...body, async: true });
      const prompt =
        path === '/seedance/videos'
          ? (submits[0]!.body as { content: { text?: string }[] }).content[0]?.text
          : (submits[0]!.body as { prompt?: string }).prompt;
      expect(prompt).toBe(`a test of ${model}`);
      expect(world.ace.requestsTo(path.replace('/videos', '/tasks')).length, path).toBeGreaterThan(0);
      const message = messages.find((m) => m.embeds[0]?.description?.includes(`a test of ${model}`));
      expect(message?.embeds[0]?.footer?.text, model).toContain(` · ${model} · `);
      expect(message?.attachments, model).toHaveLength(1);
    }
    // Luma has no model field at all.
    expect(world.ace.requestsTo('/luma/videos')[0]!.body).not.toHaveProperty('model');
    // A status request asks one service only: no Veo id was ever sent to /kling/tasks.
    const veoTask = world.ace.requestsTo('/veo/videos')[0]!;
    const veoId = [...world.ace.tasks.values()].find((t) => t.request === veoTask.body || t.request.prompt === 'a test of veo31')?.id;
    expect(veoId).toBeDefined();
    expect(JSON.stringify(world.ace.requestsTo('/kling/tasks').map((r) => r.body))).not.toContain(veoId!);
  });
});

describe('e2e: Sora retired upstream while other models keep working', { timeout: 90_000 }, () => {
  let world: World;
  let guild: GuildState;
  let general: string;
  let log: string;

  beforeAll(async () => {
    world = await createWorld({
      ace: { unavailable: { sora: 'api_not_implemented' } },
      env: { VIDEO_MODELS: 'veo31-fast,kling-v2-6,sora-2,sora-2-pro', DEFAULT_VIDEO_MODEL: 'veo31-fast', MAX_ACTIVE_GENERATIONS: '1' },
    });
    guild = world.guilds[0]!;
    general = world.channelOf(guild);
    log = world.discord.addChannel(guild.id, { name: 'bot-log' }).id;
    await world.startBot();
    const set = world.discord.sendCommand({
      guildId: guild.id,
      channelId: general,
      userId: guild.ownerId,
      name: 'sora-admin',
      subcommand: 'log-channel',
      options: { channel: { type: CHANNEL_OPTION, value: log } },
    });
    expect(await ephemeralText(set)).toContain(`<#${log}>`);
  });
  afterAll(async () => {
    await world?.close();
  });

  it('tells the member with a switch button, tells admins once, refuses Sora before spend, and keeps serving Veo and Kling', async () => {
    // Two Sora commands: the first finds out (its answer held back a moment), the second waits behind
    // it for the one slot, and is never sent.
    world.ace.failNext('/sora/videos', { kind: 'delay', delayMs: 1_500 });
    generateIn(world, guild, { prompt: 'sora one', model: 'sora-2' });
    await waitUntil(() => world.ace.requestsTo('/sora/videos').length > 0, WAIT_MS, 'the first Sora submit');
    const second = generateIn(world, guild, { prompt: 'sora two', model: 'sora-2-pro', duration: 25 });
    expect(await ephemeralText(second)).toMatch(/Queued|position/);
    const failures = await world.discord.waitFor(
      () => {
        const failed = world.discord.channelMessages(general).filter((m) => resultFooterOf(m)?.marker === 'failed');
        return failed.length >= 2 ? failed : undefined;
      },
      WAIT_MS,
      'two failure notices',
    );
    expect(world.ace.requestsTo('/sora/videos')).toHaveLength(1);
    for (const failure of failures) {
      expect(failure.content).toContain(`<@${MEMBER_ID}>`);
      expect(JSON.stringify(failure.embeds)).toContain('is not served by Ace Data Cloud right now');
      expect(JSON.stringify(failure.components)).toContain('sora:switch-model:');
    }
    const notices = await world.discord.waitFor(
      () => {
        const found = world.discord.channelMessages(log);
        return found.length > 0 ? found : undefined;
      },
      WAIT_MS,
      'the admin notice',
    );
    expect(notices[0]!.content).toContain('does not serve `sora-2`');

    // A new Sora command is refused before any spend, naming the models that work.
    const refused = await ephemeralText(generateIn(world, guild, { prompt: 'sora three', model: 'sora-2' }));
    expect(refused).toContain('`sora-2` is not served by Ace Data Cloud right now');
    expect(refused).toContain('`veo31-fast`');

    // Nothing else stopped: Kling and the default model still make videos.
    generateIn(world, guild, { prompt: 'kling works', model: 'kling-v2-6' });
    await world.discord.waitForMessage(
      general,
      (m) => resultFooterOf(m)?.marker === 'video' && (m.embeds[0]?.description ?? '').includes('kling works'),
      WAIT_MS,
    );

    // The switch button runs the same prompt on the server's default model, for its member only.
    const first = failures.find((m) => (m.embeds[0]?.description ?? '').includes('sora one'))!;
    const taskId = resultFooterOf(first)!.taskId;
    const press = world.discord.sendButton({ messageId: first.id, customId: `sora:switch-model:${taskId}`, userId: MEMBER_ID });
    expect(await ephemeralText(press)).toMatch(/Queued|position|Generating/);
    await world.discord.waitForMessage(
      general,
      (m) => resultFooterOf(m)?.marker === 'video' && (m.embeds[0]?.description ?? '').includes('sora one'),
      WAIT_MS,
    );
    const veo = world.ace.requestsTo('/veo/videos');
    expect(veo.at(-1)!.body).toMatchObject({ model: 'veo31-fast', prompt: 'sora one' });
    expect(world.ace.requestsTo('/sora/videos')).toHaveLength(1);

    // One admin notice for the whole episode; /sora-admin check shows each model's health.
    await settle(300);
    expect(world.discord.channelMessages(log)).toHaveLength(1);
    const check = await ephemeralText(
      world.discord.sendCommand({ guildId: guild.id, channelId: general, userId: guild.ownerId, name: 'sora-admin', subcommand: 'check' }),
    );
    expect(check).toMatch(/❌ `sora-2`: not served \(`api_not_implemented`\)/);
    expect(check).toMatch(/✅ `kling-v2-6`: answered/);
  });
});

describe('e2e: a server default model', { timeout: 60_000 }, () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld({ env: FRESH_INSTALL });
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('sends a plain command to the model the admins picked, with its own defaults, and narrows the list', async () => {
    const guild = world.guilds[0]!;
    const general = world.channelOf(guild);
    const admin = (subcommand: string, options: Record<string, OptionInput> = {}) =>
      ephemeralText(
        world.discord.sendCommand({
          guildId: guild.id,
          channelId: general,
          userId: guild.ownerId,
          name: 'sora-admin',
          subcommand,
          options,
        }),
      );

    expect(await admin('defaults', { model: 'kling-v2-6', duration: 7 })).toContain('`kling-v2-6` makes videos of 5, 10 seconds, not 7.');
    expect(await admin('defaults', { model: 'kling-v2-6', duration: 10 })).toContain('kling-v2-6 · 10 s');
    generateIn(world, guild, { prompt: 'a plain command' });
    await world.discord.waitForMessage(general, (m) => resultFooterOf(m)?.marker === 'video', WAIT_MS);
    expect(world.ace.requestsTo('/veo/videos')).toHaveLength(0);
    expect(world.ace.requestsTo('/kling/videos')[0]!.body).toMatchObject({ model: 'kling-v2-6', duration: 10, mode: 'std' });

    // Narrowed to two models: the others are refused, the list says which are on.
    const shown = await admin('models', { allow: 'kling-v2-6, luma' });
    expect(shown).toContain('✅ · `kling-v2-6`');
    expect(shown).toContain('▫️ · `veo31-fast`');
    const refused = await ephemeralText(generateIn(world, guild, { prompt: 'x', model: 'veo31-fast' }));
    expect(refused).toContain('`veo31-fast` is not offered on this server. Models on this server: `kling-v2-6`, `luma`.');
  });
});
