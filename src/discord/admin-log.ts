import { Routes } from 'discord.js';
import type { REST, RESTPostAPIChannelMessageJSONBody } from 'discord.js';
import { formatCredits } from '../core/credits.js';
import type { BudgetReached } from '../core/generation-service.js';
import type { Logger } from '../core/ports.js';
import type { Task } from '../core/task.js';
import type { SettingsStore } from '../settings/settings-store.js';
import { CONTENT_MAX } from './render.js';
import { describeDiscordError } from './discord-errors.js';

/** What the admin log reports. */
export type AdminLogEvent =
  | { kind: 'account_problem'; code: string }
  | { kind: 'budget_reached'; budget: BudgetReached }
  | { kind: 'undeliverable'; task: Task };

/** The admin log message for an event: plain text, pinging nobody. */
export function renderAdminLogMessage(event: AdminLogEvent): RESTPostAPIChannelMessageJSONBody {
  let content: string;
  switch (event.kind) {
    case 'account_problem':
      content =
        `⚠️ Ace Data Cloud refused the bot's account (\`${event.code}\`), so new videos are paused on every server ` +
        "until the cool-down ends or the bot restarts. The bot's owner should check the Ace Data Cloud token and balance; " +
        'queued requests wait and are sent afterwards.';
      break;
    case 'budget_reached': {
      const { spentCredits, budgetCredits, utcDay } = event.budget;
      content =
        `📊 This server reached its daily video budget: ${formatCredits(spentCredits)} of ${formatCredits(budgetCredits)} ` +
        `credits on ${utcDay} (UTC). New videos are refused until midnight UTC; change it with ` +
        '`/sora-admin limits daily-budget:<credits>`.';
      break;
    }
    case 'undeliverable': {
      const { task } = event;
      const reason = task.undeliverableReason ?? 'unknown reason';
      content =
        `📭 The result of task \`${task.id}\` (asked by <@${task.userId}>) could not be posted in <#${task.channelId}>: ` +
        `${reason}. Check the bot's permissions there with \`/sora-admin check\`.`;
      break;
    }
  }
  return { content: content.slice(0, CONTENT_MAX), allowed_mentions: { parse: [] } };
}

/** Options of {@link AdminLog}. */
export interface AdminLogOptions {
  /** discord.js REST with the bot token (`client.rest`). */
  rest: Pick<REST, 'post'>;
  settings: Pick<SettingsStore, 'peek' | 'configured'>;
  logger: Logger;
}

/**
 * Posts notable events in each guild's admin log channel, once per event: a circuit-breaker trip
 * (every guild with a log channel), a guild's budget reached (once per UTC day), an undeliverable result.
 * Best effort: a failed post is logged, never retried, never thrown.
 */
export class AdminLog {
  // In memory: after a restart an event may be reported once more, which is harmless.
  private readonly reported = new Set<string>();
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: AdminLogOptions) {}

  /** The account failed (first time per trip): tell every guild that has an admin log channel. */
  accountProblem(code: string): void {
    for (const [guildId, settings] of this.options.settings.configured()) {
      if (settings.adminLogChannelId) this.post(guildId, settings.adminLogChannelId, { kind: 'account_problem', code });
    }
  }

  /** A guild reached its daily budget; reported once per guild and UTC day. */
  budgetReached(budget: BudgetReached): void {
    this.postOnce(`budget:${budget.guildId}:${budget.utcDay}`, budget.guildId, { kind: 'budget_reached', budget });
  }

  /** A task's result could not be posted; other states are ignored. */
  taskPublished(task: Task): void {
    if (task.state !== 'undeliverable') return;
    this.postOnce(`undeliverable:${task.id}`, task.guildId, { kind: 'undeliverable', task });
  }

  /** Resolves once every post started so far has settled (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private postOnce(key: string, guildId: string, event: AdminLogEvent): void {
    const channelId = this.options.settings.peek(guildId).adminLogChannelId;
    if (!channelId || this.reported.has(key)) return;
    this.reported.add(key);
    this.post(guildId, channelId, event);
  }

  private post(guildId: string, channelId: string, event: AdminLogEvent): void {
    const work = this.options.rest
      .post(Routes.channelMessages(channelId), { body: renderAdminLogMessage(event) })
      .then(
        () => this.options.logger.info({ guildId, channelId, event: event.kind }, 'admin log posted'),
        (err: unknown) =>
          this.options.logger.warn(
            { guildId, channelId, event: event.kind, error: describeDiscordError(err) },
            'could not post in the admin log channel',
          ),
      )
      .finally(() => this.pending.delete(work));
    this.pending.add(work);
  }
}
