import type { APIActionRowComponent, APIButtonComponent, APIEmbed } from 'discord.js';
import type { QuotaLeft } from '../core/generation-service.js';
import type { Task, TaskState } from '../core/task.js';
import { t, type MessageKey } from '../i18n/index.js';
import { historyButtons } from './custom-ids.js';
import { quotaLeftText } from './render.js';

/** How many tasks one `/sora history` page lists. */
export const HISTORY_PAGE_SIZE = 10;

const STATE_KEYS: Record<TaskState, MessageKey> = {
  queued: 'state.queued',
  submitting: 'state.submitting',
  submitted: 'state.submitted',
  succeeded: 'state.succeeded',
  failed: 'state.failed',
  timed_out: 'state.timed_out',
  interrupted: 'state.interrupted',
  posting: 'state.posting',
  delivered: 'state.delivered',
  undeliverable: 'state.undeliverable',
  expired: 'state.expired',
  cancelled: 'state.cancelled',
};

/** A short human label for a task state, in `locale` (English by default). */
export function stateLabel(task: Task, locale?: string | null): string {
  if (task.state === 'delivered' && task.outcome?.kind === 'failed') return t(locale, STATE_KEYS.failed);
  if (task.state === 'delivered' && task.outcome?.kind === 'interrupted') return t(locale, STATE_KEYS.interrupted);
  return t(locale, STATE_KEYS[task.state]);
}

/** Which page of whose history is shown, and in which language. */
export interface HistoryPage {
  /** The member the history belongs to (only they may page). */
  userId: string;
  /** 0-based. */
  page: number;
  /** Whether an older page exists. */
  hasNext: boolean;
  locale?: string | null;
  /** What is left of the member's daily quota, shown at the top; absent when no quota applies. */
  quotaLeft?: QuotaLeft;
}

/** The body of a `/sora history` answer. */
export interface HistoryBody {
  content: string;
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIButtonComponent>[];
}

/** One ephemeral `/sora history` page: the member's tasks on it, newest first, with Previous/Next. */
export function renderHistory(tasks: readonly Task[], now: Date, view: HistoryPage): HistoryBody {
  const { locale } = view;
  const quotaLine = view.quotaLeft ? quotaLeftText(view.quotaLeft, locale) : '';
  if (tasks.length === 0 && view.page === 0) {
    return { content: [quotaLine, t(locale, 'history.empty')].filter(Boolean).join('\n'), embeds: [], components: [] };
  }
  const lines = tasks.map((task) => {
    const ageMinutes = Math.max(0, Math.round((now.getTime() - Date.parse(task.createdAt)) / 60_000));
    const prompt = task.request.prompt.replace(/\s+/g, ' ').slice(0, 60);
    const link =
      task.resultMessageId !== undefined
        ? ` · [${t(locale, 'history.result')}](https://discord.com/channels/${task.guildId}/${task.channelId}/${task.resultMessageId})`
        : '';
    return (
      t(locale, 'history.line', { id: task.id, state: stateLabel(task, locale), model: task.request.model, minutes: ageMinutes, prompt }) +
      link
    );
  });
  const paged = view.page > 0 || view.hasNext;
  const embed: APIEmbed = {
    title: t(locale, 'history.title'),
    // An embed description holds 4096 characters; ten short lines stay far below it.
    description: lines.join('\n').slice(0, 4096),
  };
  if (paged) embed.footer = { text: t(locale, 'history.page', { page: view.page + 1 }) };
  return {
    content: quotaLine,
    embeds: [embed],
    components: paged ? [historyButtons(view.userId, view.page, view.hasNext, locale)] : [],
  };
}
