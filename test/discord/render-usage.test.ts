import { describe, expect, it } from 'vitest';
import { summarizeUsage, usageDays } from '../../src/core/usage-report.js';
import type { Task } from '../../src/core/task.js';
import { renderUsageEmbed } from '../../src/discord/render-usage.js';
import { usageChartSvg } from '../../src/discord/usage-chart-svg.js';
import { makeTask } from '../store/task-store.contract.js';

const days = usageDays(new Date('2026-12-02T12:00:00Z'), 90);

function video(day: string, userId: string, model = 'sora-2'): Task {
  const at = `${day}T10:00:00.000Z`;
  return makeTask({ userId, createdAt: at, updatedAt: at, state: 'delivered', request: { prompt: 'x', model, duration: 10 } });
}

function render(tasks: Task[], budgetCredits = 0) {
  const report = summarizeUsage(tasks, days);
  const chart = usageChartSvg({ perDay: report.perDay, budgetCredits });
  return renderUsageEmbed(report, { locale: 'en-US', budgetCredits, chart });
}

describe('renderUsageEmbed', () => {
  it('lists days newest first and stays within Discord’s embed limits at 90 busy days and many members', () => {
    const tasks = days.flatMap((day, index) => Array.from({ length: 1 + (index % 3) }, (_, n) => video(day, `u${index}x${n}`)));
    const embed = render(tasks, 2);
    expect(embed.description!.length).toBeLessThanOrEqual(4096);
    const dayLines = embed.description!.split('\n').filter((line) => line.startsWith('`'));
    expect(dayLines[0]).toMatch(/^`2026-12-02` · 3 videos · 3 credits$/);
    // Every busy day is listed, or counted in the closing "… and N more days".
    const more = Number(/… and (\d+) more days$/.exec(embed.description!)?.[1] ?? 0);
    expect(dayLines.length + more).toBe(90);
    for (const field of embed.fields!) expect(field.value.length).toBeLessThanOrEqual(1024);
    expect(embed.fields![0]!.value.split('\n')).toHaveLength(11);
    expect(embed.fields![0]!.value).toMatch(/^Others \(\d+\): /m);
    // Days over the budget of 2: those with 3 videos.
    expect(embed.description).toContain(`over it on ${days.filter((_, i) => i % 3 === 2).length} of these days`);
    expect(embed.description).toContain('a grid line every 1 credits');
  });

  it('says when nothing was made and when no budget is set', () => {
    const embed = render([]);
    expect(embed.description).toContain('No videos were made in these days.');
    expect(embed.description).toContain('No daily budget is set');
    expect(embed.fields).toBeUndefined();
    expect(embed.image?.url).toBe('attachment://usage.png');
  });
});
