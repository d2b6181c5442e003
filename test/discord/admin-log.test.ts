import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdminLog, renderAdminLogMessage } from '../../src/discord/admin-log.js';
import { createSettingsStore, type SettingsStore } from '../../src/settings/settings-store.js';
import { openStoreBackend, type StoreBackend } from '../../src/store/open-store.js';
import { SilentLogger, type LogLine } from '../fakes/silent-logger.js';
import { makeTask, startRestStub, type RestStub } from './rest-stub.js';

const GUILD_A = '630000000000000001';
const GUILD_B = '630000000000000002';
const GUILD_C = '630000000000000003';
const LOG_A = '630000000000000011';
const LOG_B = '630000000000000012';

describe('AdminLog', () => {
  let stub: RestStub;
  let backend: StoreBackend;
  let settings: SettingsStore;
  let lines: LogLine[];
  let adminLog: AdminLog;

  beforeEach(async () => {
    stub = await startRestStub();
    backend = openStoreBackend('memory://');
    settings = createSettingsStore(backend);
    await settings.edit(GUILD_A, { kind: 'set_log_channel', channelId: LOG_A });
    await settings.edit(GUILD_B, { kind: 'set_log_channel', channelId: LOG_B });
    // Configured, but without a log channel.
    await settings.edit(GUILD_C, { kind: 'set_showcase', channelId: LOG_A });
    lines = [];
    adminLog = new AdminLog({ rest: stub.rest(), settings, logger: new SilentLogger(lines) });
  });
  afterEach(async () => {
    await settings.close();
    await backend.close();
    await stub.close();
  });

  const posts = () => stub.requests.filter((r) => r.method === 'POST');
  const postsTo = (channelId: string) => posts().filter((r) => r.path === `/channels/${channelId}/messages`);

  it('tells every guild with a log channel about a circuit-breaker trip, pinging nobody', async () => {
    adminLog.accountProblem('used_up');
    await adminLog.idle();
    expect(posts()).toHaveLength(2);
    for (const channel of [LOG_A, LOG_B]) {
      expect(postsTo(channel)[0]?.json).toMatchObject({
        content: expect.stringContaining('`used_up`') as unknown,
        allowed_mentions: { parse: [] },
      });
    }
  });

  it('reports a guild budget once per UTC day, only in that guild', async () => {
    const event = { guildId: GUILD_A, utcDay: '2025-03-01', spentCredits: 25, budgetCredits: 25 };
    adminLog.budgetReached(event);
    adminLog.budgetReached({ ...event, spentCredits: 26 });
    adminLog.budgetReached({ ...event, guildId: GUILD_C });
    await adminLog.idle();
    expect(posts()).toHaveLength(1);
    expect(postsTo(LOG_A)[0]?.json).toMatchObject({ content: expect.stringContaining('25 of 25 credits on 2025-03-01') as unknown });
    adminLog.budgetReached({ ...event, utcDay: '2025-03-02' });
    await adminLog.idle();
    expect(postsTo(LOG_A)).toHaveLength(2);
  });

  it('reports an undeliverable result once, and ignores delivered ones', async () => {
    const task = makeTask({
      guildId: GUILD_B,
      state: 'undeliverable',
      undeliverableReason: '50013: the bot lacks permission to post here (Missing Permissions)',
    });
    adminLog.taskPublished(task);
    adminLog.taskPublished(task);
    adminLog.taskPublished(makeTask({ guildId: GUILD_B, id: 'other', state: 'delivered' }));
    await adminLog.idle();
    expect(posts()).toHaveLength(1);
    const body = postsTo(LOG_B)[0]?.json as { content: string; allowed_mentions: unknown };
    expect(body.content).toContain(`<#${task.channelId}>`);
    expect(body.content).toContain('Missing Permissions');
    expect(body.content).toContain(`<@${task.userId}>`);
    expect(body.allowed_mentions).toEqual({ parse: [] });
  });

  it('logs a failed post instead of throwing', async () => {
    stub.once('POST', /\/channels\/\d+\/messages/, { status: 403, body: { code: 50013, message: 'Missing Permissions' } });
    adminLog.budgetReached({ guildId: GUILD_A, utcDay: '2025-03-01', spentCredits: 1, budgetCredits: 1 });
    await adminLog.idle();
    expect(lines.some((l) => l.level === 'warn' && l.msg === 'could not post in the admin log channel')).toBe(true);
  });

  it("posts in the guild's locale: the client's view of the guild, else the event's, else English", async () => {
    const guildLocales: Record<string, string> = { [GUILD_A]: 'ja' };
    const localized = new AdminLog({
      rest: stub.rest(),
      settings,
      guildLocale: (guildId) => guildLocales[guildId],
      logger: new SilentLogger(lines),
    });
    localized.accountProblem('used_up');
    await localized.idle();
    expect((postsTo(LOG_A)[0]?.json as { content: string }).content).toMatch(
      /^⚠️ Ace Data Cloud がボットのアカウントを拒否したため（`used_up`）/,
    );
    // No locale known for guild B: English.
    expect((postsTo(LOG_B)[0]?.json as { content: string }).content).toMatch(/^⚠️ Ace Data Cloud refused the bot's account/);

    localized.budgetReached({ guildId: GUILD_B, utcDay: '2025-03-01', spentCredits: 2, budgetCredits: 2, locale: 'zh-CN' });
    localized.taskPublished(
      makeTask({
        id: 'undeliv1',
        guildId: GUILD_A,
        locale: 'zh-CN',
        state: 'undeliverable',
        undeliverableReason: '10003: Unknown Channel',
      }),
    );
    await localized.idle();
    expect((postsTo(LOG_B)[1]?.json as { content: string }).content).toBe(
      '📊 本服务器已达到每日视频预算：2025-03-01（UTC）已用 2 / 2 额度。在 UTC 午夜之前将拒绝新视频；可用 `/sora-admin limits daily-budget:<credits>` 修改。',
    );
    // The guild's current locale wins over the one the task was asked in.
    const undeliverable = (postsTo(LOG_A)[1]?.json as { content: string }).content;
    expect(undeliverable).toMatch(/^📭 タスク `undeliv1`/);
    expect(undeliverable).toContain('10003: Unknown Channel');
  });

  it('keeps every message within Discord limits', () => {
    const long = makeTask({ state: 'undeliverable', undeliverableReason: 'x'.repeat(5000) });
    expect(String(renderAdminLogMessage({ kind: 'undeliverable', task: long }).content).length).toBeLessThanOrEqual(2000);
  });
});
