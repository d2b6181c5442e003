import { t } from '../../src/i18n/index.js';
import { MessageFlags, PermissionFlagsBits } from 'discord.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commands } from '../../commands/index.js';
import { soraAdminCommand } from '../../commands/sora-admin.js';
import { InteractionRouter } from '../../src/discord/router.js';
import { createSettingsStore, type SettingsStore } from '../../src/settings/settings-store.js';
import { openStoreBackend, type StoreBackend } from '../../src/store/open-store.js';
import { createCoreHarness } from '../fakes/core-harness.js';
import {
  createFakeInteraction,
  DELIVERY_PERMISSIONS,
  FAKE_CHANNEL_ID,
  FAKE_GUILD_ID,
  type FakeInteractionInput,
} from '../fakes/fake-interaction.js';
import { commandContext } from '../fakes/command-context.js';
import { SilentLogger } from '../fakes/silent-logger.js';

const SHOWCASE = '640000000000000001';
const VIDEOS = '640000000000000002';
const LOG = '640000000000000003';
const PATRONS = '640000000000000004';
const ADMIN = PermissionFlagsBits.ManageGuild | PermissionFlagsBits.SendMessages;

describe('/sora-admin', () => {
  let backend: StoreBackend;
  let settings: SettingsStore;
  let harness: ReturnType<typeof createCoreHarness>;
  let router: InteractionRouter;

  beforeEach(() => {
    backend = openStoreBackend('memory://');
    settings = createSettingsStore(backend);
    harness = createCoreHarness();
    const context = commandContext(harness, settings);
    router = new InteractionRouter(commands, context, new SilentLogger());
  });
  afterEach(async () => {
    await harness.stop();
    await settings.close();
    await backend.close();
  });

  /** Runs a command through the router, as the bot does, and returns what was answered. */
  async function run(input: FakeInteractionInput) {
    const fake = createFakeInteraction({ memberPermissions: ADMIN, ...input });
    await router.handle(fake.interaction);
    expect(fake.replies).toHaveLength(1);
    expect(fake.replies[0]?.flags).toBe(MessageFlags.Ephemeral);
    return fake.lastReply();
  }

  it('is registered for Manage Server members only, in servers only, within Discord limits', () => {
    const data = soraAdminCommand.data;
    expect(commands.map((c) => c.data.name)).toContain('sora-admin');
    expect(data.default_member_permissions).toBe(String(PermissionFlagsBits.ManageGuild));
    expect(data.dm_permission).toBe(false);
    const top = data.options ?? [];
    expect(top.length).toBeLessThanOrEqual(25);
    const showcase = top.find((o) => o.name === 'showcase') as { type: number; options?: { name: string; required?: boolean }[] };
    expect(showcase.type).toBe(1);
    expect(showcase.options).toMatchObject([{ name: 'channel', required: true }]);
    for (const option of top) {
      expect(option.name).toMatch(/^[-_\p{Ll}\p{N}]{1,32}$/u);
      expect(option.description.length).toBeLessThanOrEqual(100);
      const nested = (option as { options?: { name: string; description: string }[] }).options ?? [];
      expect(nested.length).toBeLessThanOrEqual(25);
      for (const sub of nested) expect(sub.description.length).toBeLessThanOrEqual(100);
    }
  });

  it('refuses a member without Manage Server, even when a server override shows the command', async () => {
    const reply = await run({
      subcommand: 'showcase',
      options: { channel: { id: SHOWCASE } },
      memberPermissions: PermissionFlagsBits.SendMessages,
    });
    expect(reply).toMatch(/^⚠️ Only members with the Manage Server permission/);
    expect(settings.peek(FAKE_GUILD_ID).showcaseChannelId).toBeNull();
    expect(await run({ subcommand: 'settings', memberPermissions: 0n })).toMatch(/Manage Server/);
  });

  it('sets the showcase channel, and clears it', async () => {
    expect(await run({ subcommand: 'showcase', options: { channel: { id: SHOWCASE } } })).toBe(`Showcase channel set to <#${SHOWCASE}>.`);
    expect(settings.peek(FAKE_GUILD_ID).showcaseChannelId).toBe(SHOWCASE);
    expect(await run({ subcommand: 'showcase-clear' })).toBe('Showcase channel removed.');
    expect(settings.peek(FAKE_GUILD_ID).showcaseChannelId).toBeNull();
    expect(await run({ subcommand: 'showcase-clear' })).toBe('There was no showcase channel.');
  });

  it('warns when the bot could not post in a channel just configured', async () => {
    const reply = await run({
      subcommand: 'log-channel',
      options: { channel: { id: LOG } },
      channels: [{ id: LOG, botPermissions: PermissionFlagsBits.ViewChannel | PermissionFlagsBits.SendMessages }],
    });
    expect(reply).toContain(`<#${LOG}>`);
    expect(reply).toContain("I can't post there yet: I'm missing Embed Links, Attach Files, Read Message History");
  });

  it('persists every setting and shows them all', async () => {
    await run({ subcommandGroup: 'channels', subcommand: 'add', options: { channel: { id: VIDEOS } } });
    await run({ subcommand: 'limits', options: { 'member-daily': 3, 'guild-concurrency': 2, 'daily-budget': 40 } });
    await run({ subcommand: 'defaults', options: { orientation: 'portrait', size: 'large' } });
    await run({ subcommandGroup: 'pro-roles', subcommand: 'add', options: { role: { id: PATRONS } } });
    expect(await run({ subcommandGroup: 'blocked-words', subcommand: 'add', options: { words: 'Gore, 血腥' } })).toMatch(/Blocked 2 words/);
    await run({ subcommand: 'log-channel', options: { channel: { id: LOG } } });
    await run({ subcommand: 'showcase', options: { channel: { id: SHOWCASE } } });

    const shown = await run({ subcommand: 'settings' });
    expect(shown).toContain(`Showcase channel: <#${SHOWCASE}>`);
    expect(shown).toContain(`Admin log channel: <#${LOG}>`);
    expect(shown).toContain(`Videos allowed in: <#${VIDEOS}>`);
    expect(shown).toContain('Videos per member per day (UTC): 3');
    expect(shown).toContain('Videos generating at once: 2');
    expect(shown).toContain('Daily budget: 40 credits');
    expect(shown).toContain('Defaults: sora-2 · 10 s · portrait · large');
    expect(shown).toContain(`Premium models allowed for: <@&${PATRONS}>`);
    expect(shown).toContain('Models: every model the bot offers');
    expect(shown).toContain('Blocked words: 2');
    // The settings view does not spell out the blocked words; the list subcommand does.
    expect(shown).not.toContain('血腥');
    expect(await run({ subcommandGroup: 'blocked-words', subcommand: 'list' })).toContain('gore\n血腥');

    // Stored: a fresh store over the same backend (a restart) reads the same settings.
    const reopened = createSettingsStore(backend);
    await reopened.load();
    expect(reopened.peek(FAKE_GUILD_ID)).toEqual(settings.peek(FAKE_GUILD_ID));
    await reopened.close();
  });

  it("resets limits to the bot's defaults and refuses an empty or invalid change", async () => {
    await run({ subcommand: 'limits', options: { 'member-daily': 3, 'daily-budget': 40 } });
    const reset = await run({ subcommand: 'limits', options: { reset: 'all' } });
    expect(reset).toContain("Videos per member per day (UTC): 10 (bot's default)");
    expect(reset).toContain('Daily budget: none');
    expect(await run({ subcommand: 'limits' })).toMatch(/^⚠️ Give at least one/);
    // Checked against the model a plain command uses here (the bot's default, sora-2 in these tests).
    expect(await run({ subcommand: 'defaults', options: { duration: 25 } })).toBe('⚠️ `sora-2` makes videos of 10, 15 seconds, not 25.');
    expect(await run({ subcommand: 'defaults', options: { duration: 25, model: 'sora-2-pro' } })).toContain('sora-2-pro · 25 s');
  });

  it('sets the member cooldown, shows it with the other limits, and resets it', async () => {
    expect(await run({ subcommand: 'settings' })).toContain("Wait between two videos of a member: none (bot's default)");
    const set = await run({ subcommand: 'limits', options: { cooldown: 30 } });
    expect(set).toMatch(/^Limits updated; they apply at once\.\n/);
    expect(set).toContain('Wait between two videos of a member: 30 s');
    expect(settings.peek(FAKE_GUILD_ID).memberCooldownSeconds).toBe(30);
    expect(await run({ subcommand: 'settings' })).toContain('Wait between two videos of a member: 30 s');
    expect(await run({ subcommand: 'limits', options: { cooldown: 0 } })).toContain('Wait between two videos of a member: none');
    expect(settings.peek(FAKE_GUILD_ID).memberCooldownSeconds).toBe(0);
    // Discord enforces the option's bounds; the settings check them again.
    expect(await run({ subcommand: 'limits', options: { cooldown: 3601 } })).toBe(
      '⚠️ The cooldown must be a whole number of seconds from 0 (none) to 3600.',
    );
    await run({ subcommand: 'limits', options: { cooldown: 45, 'member-daily': 4 } });
    const reset = await run({ subcommand: 'limits', options: { reset: 'cooldown' } });
    expect(reset).toContain("Wait between two videos of a member: none (bot's default)");
    expect(reset).toContain('Videos per member per day (UTC): 4');
    expect(settings.peek(FAKE_GUILD_ID).memberCooldownSeconds).toBeNull();
    await run({ subcommand: 'limits', options: { cooldown: 45 } });
    await run({ subcommand: 'limits', options: { reset: 'all' } });
    expect(settings.peek(FAKE_GUILD_ID).memberCooldownSeconds).toBeNull();

    const limits = (soraAdminCommand.data.options ?? []).find((o) => o.name === 'limits') as {
      options: {
        name: string;
        min_value?: number;
        max_value?: number;
        choices?: { value: string; name_localizations?: Record<string, string> }[];
      }[];
    };
    expect(limits.options.find((o) => o.name === 'cooldown')).toMatchObject({ min_value: 0, max_value: 3600 });
    const resetChoices = limits.options.find((o) => o.name === 'reset')?.choices ?? [];
    expect(resetChoices.find((c) => c.value === 'cooldown')?.name_localizations).toEqual({ 'zh-CN': '冷却时间', ja: 'クールダウン' });
  });

  it('answers a zh-CN admin in Chinese: confirmations, the settings, the check and refusals', async () => {
    const zh = { locale: 'zh-CN' };
    expect(await run({ subcommand: 'showcase', options: { channel: { id: SHOWCASE } }, ...zh })).toBe(`展示频道已设为 <#${SHOWCASE}>。`);
    expect(await run({ subcommand: 'log-channel-clear', ...zh })).toBe('之前没有设置管理日志频道。');
    await run({ subcommand: 'defaults', options: { orientation: 'portrait' }, ...zh });
    const shown = await run({ subcommand: 'settings', ...zh });
    expect(shown.split('\n')).toEqual([
      '**本服务器的 Sora 机器人设置**（更改立即生效）',
      `展示频道：<#${SHOWCASE}>`,
      '管理日志频道：无',
      '允许制作视频的频道：所有频道',
      '每位成员每天（UTC）的视频数：10（机器人默认值）',
      '同时生成的视频数：3（机器人默认值）',
      '成员两次生成之间的等待时间：无（机器人默认值）',
      '每日预算：无',
      '默认值：sora-2 · 10 秒 · 竖屏 · small',
      '模型：机器人提供的所有模型',
      '可使用高级模型：所有人',
      '屏蔽词：0 个',
    ]);
    const checked = await run({
      subcommand: 'check',
      channels: [{ id: FAKE_CHANNEL_ID, botPermissions: DELIVERY_PERMISSIONS & ~PermissionFlagsBits.AttachFiles }],
      ...zh,
    });
    expect(checked).toContain('**机器人的权限**');
    expect(checked).toContain(`<#${FAKE_CHANNEL_ID}> (当前频道): ⚠️ 无法发布结果`);
    expect(checked).toContain('❌ 附加文件');
    expect(checked).toContain(`<#${SHOWCASE}> (展示频道): ❓ 未找到`);
    expect(await run({ subcommand: 'defaults', options: { duration: 25 }, ...zh })).toBe(
      `⚠️ ${t('zh-CN', 'error.durationNotAllowed', { model: 'sora-2', allowed: '10, 15', value: 25 })}`,
    );
    expect(await run({ subcommand: 'limits', ...zh })).toMatch(/^⚠️ 请至少提供/);
  });

  it('answers a ja admin in Japanese, with the permission names in Japanese too', async () => {
    const ja = { locale: 'ja' };
    const reply = await run({
      subcommand: 'log-channel',
      options: { channel: { id: LOG } },
      channels: [{ id: LOG, botPermissions: PermissionFlagsBits.ViewChannel | PermissionFlagsBits.SendMessages }],
      ...ja,
    });
    expect(reply).toBe(
      `管理ログは <#${LOG}> に送られます：アカウントの問題、1日の予算の到達、投稿できなかった結果。\n` +
        '⚠️ まだそこに投稿できません：埋め込みリンク、ファイルを添付、メッセージ履歴を読む の権限がありません。',
    );
    expect(await run({ subcommandGroup: 'blocked-words', subcommand: 'add', options: { words: 'gore, 血腥' }, ...ja })).toMatch(
      /^2 個の単語またはフレーズをブロックしました。リストは 2 個です。/,
    );
    expect(await run({ subcommand: 'limits', options: { 'member-daily': 3, cooldown: 20 }, ...ja })).toContain(
      'メンバーが動画を続けて作るときの待ち時間：20 秒',
    );
  });

  it("checks the bot's permissions in this channel and the configured ones", async () => {
    await run({ subcommandGroup: 'channels', subcommand: 'add', options: { channel: { id: VIDEOS } } });
    await run({ subcommand: 'showcase', options: { channel: { id: SHOWCASE } } });
    const reply = await run({
      subcommand: 'check',
      channels: [
        { id: FAKE_CHANNEL_ID, botPermissions: DELIVERY_PERMISSIONS },
        { id: VIDEOS, botPermissions: DELIVERY_PERMISSIONS & ~PermissionFlagsBits.AttachFiles },
      ],
    });
    const lines = reply.split('\n');
    const about = (id: string) =>
      lines
        .slice(lines.findIndex((l) => l.startsWith(`<#${id}>`)))
        .slice(0, 2)
        .join('\n');
    expect(about(FAKE_CHANNEL_ID)).toContain('(this channel): ready');
    expect(about(VIDEOS)).toContain('(videos allowed): ⚠️ cannot deliver results');
    expect(about(VIDEOS)).toContain('❌ Attach Files');
    expect(about(VIDEOS)).toContain('✅ Send Messages in Threads');
    expect(about(SHOWCASE)).toContain('not found');
  });

  describe('its settings in /sora generate', () => {
    const generate = (input: Partial<FakeInteractionInput> & { prompt?: string; model?: string }) => {
      const { prompt = 'a fox in the snow', model, ...rest } = input;
      return run({
        commandName: 'sora',
        subcommand: 'generate',
        memberPermissions: PermissionFlagsBits.SendMessages,
        options: { prompt, ...(model ? { model } : {}) },
        ...rest,
      });
    };

    it('refuses outside the allowed channels, before anything is queued', async () => {
      await run({ subcommandGroup: 'channels', subcommand: 'add', options: { channel: { id: VIDEOS } } });
      expect(await generate({})).toMatch(/^⚠️ Videos can't be made in this channel/);
      expect(harness.store.all()).toHaveLength(0);
      const accepted = createFakeInteraction({
        commandName: 'sora',
        subcommand: 'generate',
        channelId: VIDEOS,
        options: { prompt: 'a fox in the snow' },
      });
      await router.handle(accepted.interaction);
      // Stored at once, so the answer itself acknowledges the command.
      expect(accepted.interaction.replied).toBe(true);
      expect(accepted.lastReply()).toMatch(/position/i);
      expect(harness.store.all()).toHaveLength(1);
    });

    it('uses the member roles for sora-2-pro and never names a blocked word', async () => {
      await run({ subcommandGroup: 'pro-roles', subcommand: 'add', options: { role: { id: PATRONS } } });
      await run({ subcommandGroup: 'blocked-words', subcommand: 'add', options: { words: '血腥' } });
      expect(await generate({ model: 'sora-2-pro' })).toMatch(/`sora-2-pro` is reserved for some roles/);
      const blocked = await generate({ prompt: '一只狐狸在雪地里，非常血腥的场面' });
      expect(blocked).toMatch(/doesn't allow/);
      expect(blocked).not.toContain('血腥');
      expect(harness.store.all()).toHaveLength(0);

      const start = vi.spyOn(harness.service, 'start');
      const patron = createFakeInteraction({
        commandName: 'sora',
        subcommand: 'generate',
        memberRoleIds: [PATRONS],
        options: { prompt: 'a fox in the snow', model: 'sora-2-pro' },
      });
      await router.handle(patron.interaction);
      expect(start).toHaveBeenCalledOnce();
      expect(harness.store.all()[0]?.request.model).toBe('sora-2-pro');
    });
  });
});
