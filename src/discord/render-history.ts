import type { APIEmbed } from 'discord.js';
import type { Task, TaskState } from '../core/task.js';

const STATE_LABELS: Record<TaskState, string> = {
  queued: '⏳ queued',
  submitting: '⏳ submitting',
  submitted: '🎬 generating',
  succeeded: '✅ done',
  failed: '❌ failed',
  timed_out: '⌛ taking long',
  interrupted: '⚠️ interrupted',
  posting: '📤 posting',
  delivered: '✅ delivered',
  undeliverable: '⚠️ could not post',
  expired: '⌛ no result',
  cancelled: '🚫 cancelled',
};

/** A short human label for a task state. */
export function stateLabel(task: Task): string {
  if (task.state === 'delivered' && task.outcome?.kind === 'failed') return STATE_LABELS.failed;
  if (task.state === 'delivered' && task.outcome?.kind === 'interrupted') return STATE_LABELS.interrupted;
  return STATE_LABELS[task.state];
}

/** The ephemeral `/sora history` answer: the member's recent tasks, newest first. */
export function renderHistory(tasks: readonly Task[], now: Date): { content: string; embeds: APIEmbed[] } {
  if (tasks.length === 0) {
    return { content: 'You have no generations in this server yet. Try `/sora generate`.', embeds: [] };
  }
  const lines = tasks.map((task) => {
    const ageMinutes = Math.max(0, Math.round((now.getTime() - Date.parse(task.createdAt)) / 60_000));
    const prompt = task.request.prompt.replace(/\s+/g, ' ').slice(0, 60);
    const link =
      task.resultMessageId !== undefined
        ? ` · [result](https://discord.com/channels/${task.guildId}/${task.channelId}/${task.resultMessageId})`
        : '';
    return `\`${task.id}\` ${stateLabel(task)} · ${ageMinutes} min ago · ${prompt}${link}`;
  });
  // An embed description holds 4096 characters; ten short lines stay far below it.
  return {
    content: '',
    embeds: [{ title: 'Your recent videos', description: lines.join('\n').slice(0, 4096) }],
  };
}
