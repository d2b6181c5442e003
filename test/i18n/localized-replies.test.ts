import { PermissionFlagsBits } from 'discord.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commands, componentHandler } from '../../commands/index.js';
import { renderProgress, renderResultMessage } from '../../src/discord/render.js';
import { t } from '../../src/i18n/index.js';
import { InteractionRouter } from '../../src/discord/router.js';
import { createSettingsStore, type SettingsStore } from '../../src/settings/settings-store.js';
import { openStoreBackend, type StoreBackend } from '../../src/store/open-store.js';
import { createCoreHarness } from '../fakes/core-harness.js';
import { createFakeInteraction, FAKE_GUILD_ID, FAKE_USER_ID } from '../fakes/fake-interaction.js';
import { MemoryTaskStore } from '../fakes/memory-task-store.js';
import { commandContext } from '../fakes/command-context.js';
import { SilentLogger } from '../fakes/silent-logger.js';
import { makeTask } from '../fakes/task-factory.js';

interface Body {
  content?: string;
  components?: { components: { label: string }[] }[];
}

describe('replies in the member’s language, results in the guild’s', () => {
  let backend: StoreBackend;
  let settings: SettingsStore;
  let store: MemoryTaskStore;
  let harness: ReturnType<typeof createCoreHarness>;
  let router: InteractionRouter;

  beforeEach(() => {
    backend = openStoreBackend('memory://');
    settings = createSettingsStore(backend);
    store = new MemoryTaskStore();
    harness = createCoreHarness({ store, limits: { submitMinIntervalMs: 0, maxActiveGenerations: 0 } });
    const context = commandContext(harness, settings, { promptMaxChars: 20 });
    router = new InteractionRouter(commands, context, new SilentLogger(), { components: componentHandler });
  });
  afterEach(async () => {
    await harness.stop();
    await settings.close();
    await backend.close();
  });

  const generate = (prompt: string, locale: string, guildLocale = 'en-US') =>
    createFakeInteraction({ commandName: 'sora', subcommand: 'generate', options: { prompt }, locale, guildLocale });

  it('a zh-CN member gets a Chinese error (the English text stays the error’s message)', async () => {
    const fake = generate('x'.repeat(30), 'zh-CN');
    await router.handle(fake.interaction);
    expect(fake.lastReply()).toBe('⚠️ 提示长度为 30 个字符；上限为 20。');
  });

  it('a zh-CN member in an English guild gets Chinese progress; the task keeps both locales', async () => {
    const fake = generate('a fox', 'zh-CN', 'en-US');
    await router.handle(fake.interaction);
    // The member's quota (10 a day by default) is shown under the position, in Chinese too.
    expect(fake.lastReply()).toMatch(/^⏳ 排队中——第 1 位，已等待 0:0\d。\n今天（UTC）还可以制作 9 个视频（每天共 10 个）。$/);
    const buttons = (fake.replies.at(-1) as Body).components?.[0]?.components.map((b) => b.label);
    expect(buttons).toEqual(['取消']);
    const [task] = await store.listByUser(FAKE_GUILD_ID, FAKE_USER_ID, 1);
    expect(task).toMatchObject({ locale: 'en-US', memberLocale: 'zh-CN' });
    // Later progress edits (from the core) use the stored member locale.
    expect(renderProgress({ kind: 'generating', elapsedMs: 65_000 }, task!, new Date()).content).toMatch(/^🎬 生成中…… 已用时 1:05/);
  });

  it("a ja guild's public result is Japanese, with the footer the publisher reads back left as is", () => {
    const task = makeTask({
      locale: 'ja',
      memberLocale: 'en-US',
      userId: FAKE_USER_ID,
      state: 'posting',
      outcome: { kind: 'succeeded', videoUrl: 'https://cdn.example/v.mp4' },
    });
    const body = renderResultMessage(task, { mode: 'upload' });
    expect(body.content).toBe(`<@${FAKE_USER_ID}> 動画ができました。`);
    expect(body.embeds?.[0]?.title).toBe('Sora 2 動画');
    expect(body.embeds?.[0]?.fields?.map((f) => f.name)).toEqual(['モデル', '長さ', '向き', 'サイズ', '画像']);
    expect(body.embeds?.[0]?.footer?.text).toBe(`Task ${task.id} · video · sora-2`);
    expect((body.components?.[0] as { components: { label: string }[] }).components.map((b) => b.label)).toEqual([
      '再生成',
      'リミックス',
      'ショーケースに共有',
      '削除',
    ]);
  });

  it('a ja admin reads /sora-admin in Japanese, a refused setting included', async () => {
    const admin = (subcommand: string, options = {}) =>
      createFakeInteraction({ subcommand, options, locale: 'ja', memberPermissions: PermissionFlagsBits.ManageGuild });
    const clear = admin('showcase-clear');
    await router.handle(clear.interaction);
    expect(clear.lastReply()).toBe('ショーケースチャンネルは設定されていませんでした。');
    const refused = admin('defaults', { model: 'sora-2', duration: 25 });
    await router.handle(refused.interaction);
    expect(refused.lastReply()).toBe(`⚠️ ${t('ja', 'error.durationNotAllowed', { model: 'sora-2', allowed: '10, 15', value: 25 })}`);
  });

  it('an unknown locale falls back to English, byte for byte', async () => {
    const fake = generate('x'.repeat(30), 'pt-BR', 'pt-BR');
    await router.handle(fake.interaction);
    expect(fake.lastReply()).toBe('⚠️ The prompt is 30 characters long; the limit is 20.');
    const task = makeTask({
      locale: 'pt-BR',
      userId: FAKE_USER_ID,
      state: 'posting',
      outcome: { kind: 'failed', code: 'x', message: 'boom' },
    });
    expect(renderResultMessage(task, { mode: 'link' }).content).toBe(`<@${FAKE_USER_ID}> your video could not be made.`);
  });
});
