import { PermissionFlagsBits } from 'discord.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commands, componentHandler, messageCommands } from '../../commands/index.js';
import type { Task } from '../../src/core/task.js';
import type { DiscordActions, Showcase } from '../../src/discord/command.js';
import { customId, parseCustomId } from '../../src/discord/custom-ids.js';
import { renderResultMessage } from '../../src/discord/render.js';
import { InteractionRouter } from '../../src/discord/router.js';
import { createSettingsStore, type SettingsStore } from '../../src/settings/settings-store.js';
import { openStoreBackend, type StoreBackend } from '../../src/store/open-store.js';
import { createCoreHarness } from '../fakes/core-harness.js';
import { createFakeComponent, type FakeComponentInput } from '../fakes/fake-component.js';
import { createFakeInteraction, DELIVERY_PERMISSIONS, FAKE_CHANNEL_ID, FAKE_GUILD_ID, FAKE_USER_ID } from '../fakes/fake-interaction.js';
import { MemoryTaskStore } from '../fakes/memory-task-store.js';
import { commandContext } from '../fakes/command-context.js';
import { SilentLogger } from '../fakes/silent-logger.js';
import { en } from '../../src/i18n/en.js';
import { t } from '../../src/i18n/index.js';

const OTHER_USER = '500000000000000077';
const RESULT_MESSAGE = '500000000000000300';

/** A delivered video of FAKE_USER_ID, written straight into the store (as if before a restart). */
function deliveredTask(overrides: Partial<Task> = {}): Task {
  const now = new Date().toISOString();
  return {
    schemaVersion: 1,
    id: 'k7m2p9q4x1',
    guildId: FAKE_GUILD_ID,
    channelId: FAKE_CHANNEL_ID,
    userId: FAKE_USER_ID,
    request: { prompt: 'a fox in the snow', model: 'sora-2-pro', duration: 15, orientation: 'portrait', size: 'large' },
    state: 'delivered',
    uploadLimitBytes: 10 * 1024 * 1024,
    providerTaskId: 'prov-1',
    outcome: { kind: 'succeeded', videoUrl: 'https://cdn.example/v.mp4' },
    resultMessageId: RESULT_MESSAGE,
    submitAttempts: 1,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

describe('result buttons, cancel and "Animate with Sora"', () => {
  let backend: StoreBackend;
  let settings: SettingsStore;
  let store: MemoryTaskStore;
  let harness: ReturnType<typeof createCoreHarness>;
  let router: InteractionRouter;
  let discord: { [K in keyof DiscordActions]: ReturnType<typeof vi.fn> };
  let shares: Task[];

  function build(limits: { maxActiveGenerations?: number } = {}, memberCooldownSeconds = 0) {
    harness = createCoreHarness({ store, limits: { submitMinIntervalMs: 0, ...limits }, memberCooldownSeconds });
    const showcase: Showcase = {
      share: (task) => {
        shares.push(task);
        return Promise.resolve({ kind: 'shared', channelId: '600000000000000001', messageId: '600000000000000002' });
      },
    };
    const context = commandContext(harness, settings, { discord: discord as unknown as DiscordActions, showcase });
    router = new InteractionRouter(commands, context, new SilentLogger(), { components: componentHandler, messageCommands });
  }

  beforeEach(() => {
    backend = openStoreBackend('memory://');
    settings = createSettingsStore(backend);
    store = new MemoryTaskStore();
    shares = [];
    discord = {
      deleteMessage: vi.fn(() => Promise.resolve()),
      refreshAttachmentUrls: vi.fn((urls: string[]) =>
        Promise.resolve(new Map(urls.map((u) => [u, u.replace(/ex=[0-9a-f]+/, `ex=${farFuture()}`)]))),
      ),
      fetchMessage: vi.fn(() => Promise.resolve(undefined)),
    };
    build();
  });
  afterEach(async () => {
    await harness.stop();
    await settings.close();
    await backend.close();
  });

  async function press(input: Omit<FakeComponentInput, 'type'> & { type?: FakeComponentInput['type'] }) {
    const fake = createFakeComponent({ type: 'button', messageId: RESULT_MESSAGE, ...input });
    await router.handle(fake.interaction);
    return fake;
  }

  async function tasksOf(userId: string) {
    return store.listByUser(FAKE_GUILD_ID, userId, 100);
  }

  it('puts Regenerate, Remix, Share and Delete under a video, with custom ids within 100 characters', () => {
    const body = renderResultMessage(deliveredTask({ id: 'x'.repeat(25) }), { mode: 'link' });
    const ids = (body.components?.[0] as { components: { custom_id: string }[] }).components.map((c) => c.custom_id);
    expect(ids.map((id) => parseCustomId(id)?.action)).toEqual(['regen', 'remix', 'share', 'delete']);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(100);
    expect(() => customId('animate-modal', 'x'.repeat(99))).toThrow(/100/);
    const notice = renderResultMessage(deliveredTask({ outcome: { kind: 'timed_out' } }), { mode: 'link' });
    expect(notice.components).toEqual([]);
  });

  it('Regenerate on a task from before a restart starts a new task with the same options, answered ephemerally', async () => {
    await store.create(deliveredTask());
    const fake = await press({ customId: 'sora:regen:k7m2p9q4x1', userId: OTHER_USER });
    // Stored at once: the answer itself acknowledges the press.
    expect(fake.answers[0]).toMatchObject({ kind: 'reply', body: { flags: 64 } });
    expect(fake.lastText()).toMatch(/Queued|position/);
    const [started] = await tasksOf(OTHER_USER);
    expect(started?.request).toEqual(deliveredTask().request);
    expect(started?.id).not.toBe('k7m2p9q4x1');
  });

  it('Regenerate goes through preflight again: a blocked prompt is refused before anything is spent', async () => {
    await store.create(deliveredTask());
    await settings.edit(FAKE_GUILD_ID, { kind: 'add_blocked_words', words: ['fox'] });
    const fake = await press({ customId: 'sora:regen:k7m2p9q4x1' });
    expect(fake.answers).toHaveLength(1);
    expect(fake.answers[0]).toMatchObject({ kind: 'reply', body: { flags: 64 } });
    expect(await tasksOf(FAKE_USER_ID)).toHaveLength(1);
  });

  it('a button of a task the store does not know is refused plainly', async () => {
    const fake = await press({ customId: 'sora:regen:unknown123' });
    expect(fake.lastText()).toMatch(/no longer known/);
  });

  it('Remix shows a modal with the prompt filled in; the edited prompt becomes a new task', async () => {
    await store.create(deliveredTask());
    const fake = await press({ customId: 'sora:remix:k7m2p9q4x1' });
    expect(fake.answers).toHaveLength(1);
    const modal = fake.answers[0]!;
    expect(modal.kind).toBe('showModal');
    expect(JSON.stringify(modal.body)).toContain('a fox in the snow');
    expect((modal.body as { custom_id: string }).custom_id).toBe('sora:remix-modal:k7m2p9q4x1');
    // PROMPT_MAX_CHARS (2000 in this context) is below Discord's 4000: the modal stops the member there.
    expect(JSON.stringify(modal.body)).toContain('"max_length":2000');

    const submit = await press({ type: 'modal', customId: 'sora:remix-modal:k7m2p9q4x1', fields: { prompt: '  a wolf in the rain ' } });
    expect(submit.answers[0]).toMatchObject({ kind: 'reply', body: { flags: 64 } });
    const tasks = await tasksOf(FAKE_USER_ID);
    expect(tasks.map((t) => t.request.prompt)).toContain('a wolf in the rain');
    expect(tasks.find((t) => t.request.prompt === 'a wolf in the rain')?.request.model).toBe('sora-2-pro');
  });

  it('Remix and "Animate with Sora" modals are in the member’s language, within Discord’s modal limits', async () => {
    await store.create(deliveredTask());
    interface Modal {
      title: string;
      components: { components: { label: string; placeholder?: string; value?: string }[] }[];
    }
    const remix = (await press({ customId: 'sora:remix:k7m2p9q4x1', locale: 'zh-CN' })).answers[0]!.body as unknown as Modal;
    expect(remix.title).toBe('重新混合此视频');
    expect(remix.components[0]!.components[0]).toMatchObject({
      label: '提示',
      placeholder: '描述新版本的视频',
      value: 'a fox in the snow',
    });

    const menu = await press({
      type: 'message-command',
      commandName: 'Animate with Sora',
      locale: 'ja',
      targetMessage: {
        id: '500000000000000400',
        channelId: FAKE_CHANNEL_ID,
        attachments: [{ name: 'cat.png', contentType: 'image/png', size: 1, url: 'https://cdn.discordapp.com/a/cat.png' }],
      },
    });
    const animate = menu.answers[0]!.body as unknown as Modal;
    expect(animate.title).toBe('Sora でアニメーション化');
    expect(animate.components[0]!.components[0]).toMatchObject({
      label: '動画の中で何が起こりますか？',
      placeholder: '例：波がゆっくり打ち寄せ、カメラが左へパンする',
    });

    // Discord refuses a modal whose title or label exceeds 45 characters, or a placeholder over 100.
    for (const locale of ['en-US', 'zh-CN', 'ja']) {
      for (const key of ['modal.remixTitle', 'modal.remixPrompt', 'modal.animateTitle', 'modal.animatePrompt'] as const) {
        expect(t(locale, key).length, `${key} in ${locale}`).toBeLessThanOrEqual(45);
      }
      for (const key of ['modal.remixPlaceholder', 'modal.animatePlaceholder'] as const) {
        expect(t(locale, key).length, `${key} in ${locale}`).toBeLessThanOrEqual(100);
      }
    }
  });

  it('registers "Animate with Sora" with its name localized (spaces and capitals allowed for message commands)', () => {
    const data = messageCommands[0]!.data;
    expect(data.name).toBe('Animate with Sora');
    expect(data.name).toBe(en['menu.animate']);
    expect(data.name_localizations).toEqual({ 'zh-CN': '用 Sora 制作动画', ja: 'Sora でアニメーション化' });
    for (const name of Object.values(data.name_localizations ?? {})) expect(name!.length).toBeLessThanOrEqual(32);
  });

  it('Regenerate right after a start is refused by the member cooldown, in their language, storing nothing', async () => {
    await harness.stop();
    build({ maxActiveGenerations: 0 }, 10);
    await store.create(deliveredTask({ createdAt: new Date(Date.now() - 60_000).toISOString() }));
    const first = await press({ customId: 'sora:regen:k7m2p9q4x1', locale: 'zh-CN' });
    expect(first.lastText()).toMatch(/^⏳ 排队中/);
    const second = await press({ customId: 'sora:regen:k7m2p9q4x1', locale: 'zh-CN' });
    expect(second.lastText()).toMatch(/^⚠️ 你开始视频的速度太快了：在本服务器，每位成员每 10 秒只能开始一个视频。请于 <t:\d+:R> 再试。$/);
    expect(await tasksOf(FAKE_USER_ID)).toHaveLength(2);
  });

  it('Remix submitted empty gets a clear error and starts nothing', async () => {
    await store.create(deliveredTask());
    const fake = await press({ type: 'modal', customId: 'sora:remix-modal:k7m2p9q4x1', fields: { prompt: '   ' } });
    expect(fake.answers).toEqual([expect.objectContaining({ kind: 'reply' })]);
    expect(fake.lastText()).toMatch(/prompt is empty/);
    expect(await tasksOf(FAKE_USER_ID)).toHaveLength(1);
  });

  it('Delete: the requester may, someone else may not, a moderator may', async () => {
    await store.create(deliveredTask());
    const refused = await press({ customId: 'sora:delete:k7m2p9q4x1', userId: OTHER_USER });
    expect(refused.answers).toHaveLength(1);
    expect(refused.answers[0]).toMatchObject({ kind: 'reply', body: { flags: 64 } });
    expect(refused.lastText()).toMatch(/Only the member who asked/);
    expect(discord.deleteMessage).not.toHaveBeenCalled();

    const own = await press({ customId: 'sora:delete:k7m2p9q4x1' });
    expect(discord.deleteMessage).toHaveBeenCalledWith(FAKE_CHANNEL_ID, RESULT_MESSAGE);
    expect(own.lastText()).toMatch(/Deleted/);

    await press({ customId: 'sora:delete:k7m2p9q4x1', userId: OTHER_USER, memberPermissions: PermissionFlagsBits.ManageMessages });
    expect(discord.deleteMessage).toHaveBeenCalledTimes(2);
  });

  it('Share: only the member who asked', async () => {
    await store.create(deliveredTask());
    const refused = await press({ customId: 'sora:share:k7m2p9q4x1', userId: OTHER_USER });
    expect(refused.lastText()).toMatch(/Only the member who asked/);
    expect(shares).toHaveLength(0);
    const own = await press({ customId: 'sora:share:k7m2p9q4x1' });
    expect(own.answers[0]).toMatchObject({ kind: 'deferReply', body: { flags: 64 } });
    expect(own.lastText()).toMatch(/Shared in <#600000000000000001>/);
    expect(shares.map((t) => t.id)).toEqual(['k7m2p9q4x1']);
  });

  it('/sora cancel takes a queued task out of the queue (nothing submitted); someone else is refused', async () => {
    await harness.stop();
    build({ maxActiveGenerations: 0 });
    const { task } = await harness.service.start({
      guildId: FAKE_GUILD_ID,
      channelId: FAKE_CHANNEL_ID,
      userId: FAKE_USER_ID,
      uploadLimitBytes: 1,
      request: deliveredTask().request,
    });
    const other = createFakeInteraction({ commandName: 'sora', subcommand: 'cancel', options: { task: task.id }, userId: OTHER_USER });
    await router.handle(other.interaction);
    expect(other.lastReply()).toMatch(/Only the member who asked/);
    expect((await store.get(task.id))?.state).toBe('queued');

    const own = createFakeInteraction({ commandName: 'sora', subcommand: 'cancel', options: { task: task.id } });
    await router.handle(own.interaction);
    expect(own.lastReply()).toMatch(/nothing was spent/);
    expect((await store.get(task.id))?.state).toBe('cancelled');
    expect(harness.scheduler.positionOf(task.id)).toBeUndefined();
    expect(harness.api.submitCalls).toHaveLength(0);
  });

  it('the Cancel button stops following a running task and says it still counts', async () => {
    await store.create(deliveredTask({ state: 'submitted', outcome: undefined, resultMessageId: undefined }));
    const refused = await press({ customId: 'sora:cancel:k7m2p9q4x1', userId: OTHER_USER });
    expect(refused.answers).toEqual([expect.objectContaining({ kind: 'reply' })]);
    const own = await press({ customId: 'sora:cancel:k7m2p9q4x1' });
    expect(own.answers[0]?.kind).toBe('deferUpdate');
    expect(own.lastText()).toMatch(/still runs and counts/);
    expect((await store.get('k7m2p9q4x1'))?.state).toBe('cancelled');
    const again = await press({ customId: 'sora:cancel:k7m2p9q4x1' });
    expect(again.lastText()).toMatch(/can no longer be cancelled/);
  });

  it('"Animate with Sora" on a message without an image says so and opens nothing', async () => {
    const fake = await press({
      type: 'message-command',
      commandName: 'Animate with Sora',
      targetMessage: {
        id: '500000000000000400',
        channelId: FAKE_CHANNEL_ID,
        attachments: [{ name: 'notes.txt', contentType: 'text/plain', size: 10, url: 'https://cdn.discordapp.com/a/notes.txt' }],
      },
    });
    expect(fake.answers).toEqual([expect.objectContaining({ kind: 'reply' })]);
    expect(fake.lastText()).toMatch(/no PNG, JPEG, WebP or GIF image/);
  });

  it('"Animate with Sora" opens a prompt modal, then animates the image, renewing an expired URL', async () => {
    const target = { id: '500000000000000400', channelId: FAKE_CHANNEL_ID };
    const expired = `https://cdn.discordapp.com/attachments/1/2/cat.png?ex=${(Math.floor(Date.now() / 1000) - 60).toString(16)}&is=1&hm=ab`;
    const menu = await press({
      type: 'message-command',
      commandName: 'Animate with Sora',
      targetMessage: { ...target, attachments: [{ name: 'cat.png', contentType: 'image/png', size: 1000, url: expired }] },
    });
    expect(menu.answers[0]?.kind).toBe('showModal');
    const modalId = (menu.answers[0]!.body as { custom_id: string }).custom_id;
    expect(modalId).toBe(`sora:animate-modal:${FAKE_CHANNEL_ID}:${target.id}`);

    discord.fetchMessage.mockResolvedValueOnce({
      id: target.id,
      attachments: [{ id: '1', filename: 'cat.png', content_type: 'image/png', size: 1000, url: expired }],
    });
    const submit = await press({ type: 'modal', customId: modalId, fields: { prompt: 'the cat jumps' } });
    expect(submit.lastText()).toMatch(/Queued|position/);
    expect(discord.refreshAttachmentUrls).toHaveBeenCalledWith([expired]);
    const [task] = await tasksOf(FAKE_USER_ID);
    expect(task?.request.prompt).toBe('the cat jumps');
    expect(task?.request.imageUrl).toContain(`ex=${farFuture()}`);
  });

  it('"Animate with Sora" where the bot cannot read the message history names the missing permission, not a deleted message', async () => {
    const withoutHistory = DELIVERY_PERMISSIONS & ~PermissionFlagsBits.ReadMessageHistory;
    const submit = await press({
      type: 'modal',
      customId: `sora:animate-modal:${FAKE_CHANNEL_ID}:4`,
      fields: { prompt: 'go' },
      appPermissions: withoutHistory,
      locale: 'ja',
    });
    expect(submit.lastText()).toContain(t('ja', 'perm.ReadMessageHistory'));
    expect(submit.lastText()).not.toContain(t('ja', 'error.imageGone'));
    expect(discord.fetchMessage).not.toHaveBeenCalled();
    expect(await tasksOf(FAKE_USER_ID)).toHaveLength(0);
  });

  it('an expired image URL Discord will not renew is refused, never sent to the provider', async () => {
    discord.refreshAttachmentUrls.mockResolvedValueOnce(new Map());
    const expired = `https://cdn.discordapp.com/attachments/1/2/cat.png?ex=${(Math.floor(Date.now() / 1000) - 60).toString(16)}`;
    discord.fetchMessage.mockResolvedValueOnce({
      id: '4',
      attachments: [{ id: '1', filename: 'cat.png', content_type: 'image/png', size: 1, url: expired }],
    });
    const submit = await press({ type: 'modal', customId: `sora:animate-modal:${FAKE_CHANNEL_ID}:4`, fields: { prompt: 'go' } });
    expect(submit.lastText()).toMatch(/expired.*attach the image/);
    expect(await tasksOf(FAKE_USER_ID)).toHaveLength(0);
  });
});

function farFuture(): string {
  return (Math.floor(Date.now() / 1000) + 86_400).toString(16);
}
