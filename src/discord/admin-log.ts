import { Routes } from 'discord.js';
import type { REST, RESTPostAPIChannelMessageJSONBody } from 'discord.js';
import { formatCredits } from '../core/credits.js';
import type { BudgetReached } from '../core/generation-service.js';
import type { Logger } from '../core/ports.js';
import type { Task } from '../core/task.js';
import { t } from '../i18n/index.js';
import type { SettingsStore } from '../settings/settings-store.js';
import { CONTENT_MAX } from './render.js';
import { describeDiscordError } from './discord-errors.js';

/** What the admin log reports. */
export type AdminLogEvent =
  | { kind: 'account_problem'; code: string }
  | { kind: 'model_unavailable'; model: string; code: string; retryAt: Date }
  | { kind: 'budget_reached'; budget: BudgetReached }
  | { kind: 'undeliverable'; task: Task };

/** The admin log message for an event, in the guild's `locale` (English by default): plain text, pinging nobody. */
export function renderAdminLogMessage(event: AdminLogEvent, locale?: string | null): RESTPostAPIChannelMessageJSONBody {
  let content: string;
  switch (event.kind) {
    case 'account_problem':
      content = t(locale, 'adminLog.accountProblem', { code: event.code });
      break;
    case 'model_unavailable':
      content = t(locale, 'adminLog.modelUnavailable', {
        model: event.model,
        code: event.code,
        retry: `<t:${Math.floor(event.retryAt.getTime() / 1000)}:R>`,
      });
      break;
    case 'budget_reached': {
      const { spentCredits, budgetCredits, utcDay } = event.budget;
      content = t(locale, 'adminLog.budgetReached', {
        spent: formatCredits(spentCredits),
        budget: formatCredits(budgetCredits),
        day: utcDay,
      });
      break;
    }
    case 'undeliverable': {
      const { task } = event;
      content = t(locale, 'adminLog.undeliverable', {
        id: task.id,
        mention: `<@${task.userId}>`,
        channel: `<#${task.channelId}>`,
        // The reason is the Discord error as logged (code and English text), for the admin to look up.
        reason: task.undeliverableReason ?? t(locale, 'adminLog.unknownReason'),
      });
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
  /** The guild's Discord locale (its preferred locale in the client's cache); undefined when unknown. */
  guildLocale?: (guildId: string) => string | undefined;
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

  /**
   * Ace Data Cloud said a model is not served (first time per cool-down): tell every guild with an
   * admin log channel whose members may pick that model.
   */
  modelUnavailable(model: string, code: string, retryAt: Date, offeredIn: (guildId: string) => boolean): void {
    for (const [guildId, settings] of this.options.settings.configured()) {
      if (settings.adminLogChannelId && offeredIn(guildId)) {
        this.post(guildId, settings.adminLogChannelId, { kind: 'model_unavailable', model, code, retryAt });
      }
    }
  }

  /** A guild reached its daily budget; reported once per guild and UTC day. */
  budgetReached(budget: BudgetReached): void {
    this.postOnce(`budget:${budget.guildId}:${budget.utcDay}`, budget.guildId, { kind: 'budget_reached', budget }, budget.locale);
  }

  /** A task's result could not be posted; other states are ignored. */
  taskPublished(task: Task): void {
    if (task.state !== 'undeliverable') return;
    this.postOnce(`undeliverable:${task.id}`, task.guildId, { kind: 'undeliverable', task }, task.locale);
  }

  /** Resolves once every post started so far has settled (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private postOnce(key: string, guildId: string, event: AdminLogEvent, eventLocale?: string): void {
    const channelId = this.options.settings.peek(guildId).adminLogChannelId;
    if (!channelId || this.reported.has(key)) return;
    this.reported.add(key);
    this.post(guildId, channelId, event, eventLocale);
  }

  /**
   * Public to the guild's admins, so in the guild's locale: the client's view of the guild first, then
   * the locale the event's command carried (a task's `locale` is the interaction's guildLocale). An
   * account problem carries none: a guild the client does not know yet gets English.
   */
  private localeOf(guildId: string, eventLocale: string | undefined): string | undefined {
    return this.options.guildLocale?.(guildId) ?? eventLocale;
  }

  private post(guildId: string, channelId: string, event: AdminLogEvent, eventLocale?: string): void {
    const locale = this.localeOf(guildId, eventLocale);
    const work = this.options.rest
      .post(Routes.channelMessages(channelId), { body: renderAdminLogMessage(event, locale) })
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
