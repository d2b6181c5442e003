import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commands, componentHandler } from '../../commands/index.js';
import { parseCustomId } from '../../src/discord/custom-ids.js';
import { InteractionRouter } from '../../src/discord/router.js';
import { createSettingsStore, type SettingsStore } from '../../src/settings/settings-store.js';
import { openStoreBackend, type StoreBackend } from '../../src/store/open-store.js';
import { createCoreHarness } from '../fakes/core-harness.js';
import { createFakeComponent } from '../fakes/fake-component.js';
import { createFakeInteraction, FAKE_CHANNEL_ID, FAKE_GUILD_ID, FAKE_USER_ID } from '../fakes/fake-interaction.js';
import { MemoryTaskStore } from '../fakes/memory-task-store.js';
import { commandContext } from '../fakes/command-context.js';
import { SilentLogger } from '../fakes/silent-logger.js';
import { makeTask } from '../fakes/task-factory.js';

const OTHER_USER = '500000000000000077';

interface Body {
  content?: string;
  embeds?: { title?: string; description?: string; footer?: { text: string } }[];
  components?: { components: { custom_id: string; disabled?: boolean; label: string }[] }[];
}

describe('/sora history paging', () => {
  let backend: StoreBackend;
  let settings: SettingsStore;
  let store: MemoryTaskStore;
  let harness: ReturnType<typeof createCoreHarness>;

  /** A router over a fresh core on the same store: what the bot is after a restart. */
  function startBot(): InteractionRouter {
    harness = createCoreHarness({ store });
    const context = commandContext(harness, settings);
    return new InteractionRouter(commands, context, new SilentLogger(), { components: componentHandler });
  }

  beforeEach(async () => {
    backend = openStoreBackend('memory://');
    settings = createSettingsStore(backend);
    store = new MemoryTaskStore();
    const start = Date.now() - 60 * 60_000;
    // 23 tasks, task 0 the oldest; the newest has a posted result.
    for (let i = 0; i < 23; i++) {
      const at = new Date(start + i * 60_000).toISOString();
      await store.create(
        makeTask({
          id: `hist${String(i).padStart(6, '0')}`,
          guildId: FAKE_GUILD_ID,
          channelId: FAKE_CHANNEL_ID,
          userId: FAKE_USER_ID,
          state: 'delivered',
          outcome: { kind: 'succeeded', videoUrl: 'https://cdn.example/v.mp4' },
          ...(i === 22 ? { resultMessageId: '500000000000000999' } : {}),
          createdAt: at,
          updatedAt: at,
        }),
      );
    }
    await store.create(makeTask({ id: 'othr000001', guildId: FAKE_GUILD_ID, userId: OTHER_USER }));
  });
  afterEach(async () => {
    await harness.stop();
    await settings.close();
    await backend.close();
  });

  const idsIn = (body: Body) => [...(body.embeds?.[0]?.description ?? '').matchAll(/`(\w+)`/g)].map((m) => m[1]);
  const buttonsOf = (body: Body) => body.components?.[0]?.components ?? [];

  it('shows 10 per page, newest first, with state and links, and pages with Previous/Next after a restart', async () => {
    let router = startBot();
    const slash = createFakeInteraction({ commandName: 'sora', subcommand: 'history' });
    await router.handle(slash.interaction);
    const first = slash.replies[0] as Body & { flags?: unknown };
    expect(first.flags).toBe(64);
    expect(idsIn(first)).toEqual(Array.from({ length: 10 }, (_, i) => `hist${String(22 - i).padStart(6, '0')}`));
    expect(first.embeds?.[0]?.description).toContain('✅ delivered');
    expect(first.embeds?.[0]?.description).toContain(
      `[result](https://discord.com/channels/${FAKE_GUILD_ID}/${FAKE_CHANNEL_ID}/500000000000000999)`,
    );
    expect(first.embeds?.[0]?.footer?.text).toBe('Page 1');
    const [previous, next] = buttonsOf(first);
    expect(previous).toMatchObject({ label: 'Previous', disabled: true });
    expect(next).toMatchObject({ label: 'Next', disabled: false });
    expect(parseCustomId(next!.custom_id)).toEqual({ action: 'history', args: [FAKE_USER_ID, '1'] });

    // The bot restarts; the button still works because the page is read from the store.
    await harness.stop();
    router = startBot();
    const press = createFakeComponent({ type: 'button', customId: next!.custom_id });
    await router.handle(press.interaction);
    expect(press.answers.map((a) => a.kind)).toEqual(['deferUpdate', 'editReply']);
    const second = press.answers[1]!.body as Body;
    expect(idsIn(second)).toEqual(Array.from({ length: 10 }, (_, i) => `hist${String(12 - i).padStart(6, '0')}`));
    expect(second.embeds?.[0]?.footer?.text).toBe('Page 2');

    const last = createFakeComponent({ type: 'button', customId: buttonsOf(second)[1]!.custom_id });
    await router.handle(last.interaction);
    const third = last.answers[1]!.body as Body;
    expect(idsIn(third)).toEqual(['hist000002', 'hist000001', 'hist000000']);
    expect(buttonsOf(third).map((b) => b.disabled)).toEqual([false, true]);
    expect(parseCustomId(buttonsOf(third)[0]!.custom_id)?.args).toEqual([FAKE_USER_ID, '1']);
  });

  it('refuses another member pressing the buttons, without changing the page', async () => {
    const router = startBot();
    const press = createFakeComponent({ type: 'button', customId: `sora:history:${FAKE_USER_ID}:1`, userId: OTHER_USER });
    await router.handle(press.interaction);
    expect(press.answers).toHaveLength(1);
    expect(press.answers[0]).toMatchObject({ kind: 'reply', body: { flags: 64 } });
    expect(press.lastText()).toBe('⚠️ Only the member who asked for this history can page through it.');
  });

  it('shows the last page there is when the asked page is past the end', async () => {
    const router = startBot();
    const press = createFakeComponent({ type: 'button', customId: `sora:history:${FAKE_USER_ID}:9` });
    await router.handle(press.interaction);
    expect((press.answers[1]!.body as Body).embeds?.[0]?.footer?.text).toBe('Page 3');
  });

  it("shows what is left of the member's daily quota at the top, in their language", async () => {
    const router = startBot();
    // OTHER_USER made one video today; the default quota is 10.
    const english = createFakeInteraction({ commandName: 'sora', subcommand: 'history', userId: OTHER_USER });
    await router.handle(english.interaction);
    expect(english.lastReply()).toBe('9 of 10 videos left today (UTC).');
    const japanese = createFakeInteraction({ commandName: 'sora', subcommand: 'history', userId: OTHER_USER, locale: 'ja' });
    await router.handle(japanese.interaction);
    expect(japanese.lastReply()).toBe('今日（UTC）はあと 9 本作成できます（1日 10 本まで）。');
    // A member with no videos yet sees the full quota above the empty history.
    const newcomer = createFakeInteraction({ commandName: 'sora', subcommand: 'history', userId: '500000000000000078', locale: 'zh-CN' });
    await router.handle(newcomer.interaction);
    expect(newcomer.lastReply()).toBe(
      '今天（UTC）还可以制作 10 个视频（每天共 10 个）。\n你在本服务器还没有生成记录。试试 `/sora generate`。',
    );
  });

  it('shows no quota line when the quota is unlimited', async () => {
    harness = createCoreHarness({ store, memberDailyQuota: 0 });
    const router = new InteractionRouter(commands, commandContext(harness, settings), new SilentLogger(), { components: componentHandler });
    const slash = createFakeInteraction({ commandName: 'sora', subcommand: 'history', userId: OTHER_USER });
    await router.handle(slash.interaction);
    expect(slash.lastReply()).toBe('');
    expect(idsIn(slash.replies[0] as Body)).toEqual(['othr000001']);
  });

  it('has no buttons when everything fits on one page', async () => {
    const router = startBot();
    const slash = createFakeInteraction({ commandName: 'sora', subcommand: 'history', userId: OTHER_USER });
    await router.handle(slash.interaction);
    const body = slash.replies[0] as Body;
    expect(idsIn(body)).toEqual(['othr000001']);
    expect(body.components).toEqual([]);
    expect(body.embeds?.[0]?.footer).toBeUndefined();
  });
});
