import type { APIEmbed } from 'discord.js';
import { formatCredits } from '../core/credits.js';
import type { UsageReport } from '../core/usage-report.js';
import { t } from '../i18n/index.js';
import type { UsageChart } from './usage-chart-svg.js';

/** The attachment name the embed's image points at. */
export const USAGE_CHART_FILE_NAME = 'usage.png';

// Discord's limits: an embed description holds 4096 characters, a field value 1024.
const DESCRIPTION_MAX = 4096;
const FIELD_MAX = 1024;
const EMBED_COLOUR = 0x5865f2;

/** The `/sora-admin usage` embed: totals, budget, per day, top members, per model, and the chart image. */
export function renderUsageEmbed(
  report: UsageReport,
  options: { locale: string | null | undefined; budgetCredits: number; chart: UsageChart },
): APIEmbed {
  const L = options.locale;
  const { budgetCredits, chart } = options;
  const numbers = (totals: { videos: number; credits: number }) => ({ videos: totals.videos, credits: formatCredits(totals.credits) });
  const head = [
    t(L, 'usage.range', { from: report.days[0]!, to: report.days.at(-1)! }),
    t(L, 'usage.total', numbers(report.total)),
    budgetCredits > 0
      ? t(L, 'usage.budget', { budget: formatCredits(budgetCredits), over: report.perDay.filter((d) => d.credits > budgetCredits).length })
      : t(L, 'usage.noBudget'),
    ...(report.notCounted > 0 ? [t(L, 'usage.notCounted', { count: report.notCounted })] : []),
    t(L, 'usage.scale', { step: formatCredits(chart.gridStepCredits) }),
  ];
  const embed: APIEmbed = {
    title: t(L, 'usage.title', { days: report.days.length }),
    color: EMBED_COLOUR,
    image: { url: `attachment://${USAGE_CHART_FILE_NAME}` },
  };
  if (report.total.videos === 0) {
    embed.description = [...head, '', t(L, 'usage.none')].join('\n');
    return embed;
  }
  // Newest first: the days an admin asks about most; empty days are in the chart, not the list.
  const dayLines = report.perDay
    .filter((d) => d.videos > 0)
    .reverse()
    .map((d) => t(L, 'usage.dayLine', { day: d.day, ...numbers(d) }));
  const headText = `${head.join('\n')}\n\n**${t(L, 'usage.perDay')}**\n`;
  embed.description = headText + fitLines(dayLines, DESCRIPTION_MAX - headText.length, (count) => t(L, 'usage.moreDays', { count }));
  const memberLines = report.members.map((m, index) => t(L, 'usage.memberLine', { rank: index + 1, userId: m.userId, ...numbers(m) }));
  if (report.otherMembers) memberLines.push(t(L, 'usage.others', { count: report.otherMembers.count, ...numbers(report.otherMembers) }));
  const modelLines = report.models.map((m) => t(L, 'usage.modelLine', { model: m.model, ...numbers(m) }));
  embed.fields = [
    { name: t(L, 'usage.members'), value: fitLines(memberLines, FIELD_MAX, (count) => t(L, 'usage.more', { count })) },
    { name: t(L, 'usage.models'), value: fitLines(modelLines, FIELD_MAX, (count) => t(L, 'usage.more', { count })) },
  ];
  return embed;
}

/** As many whole lines as fit in `max` characters, then a line saying how many were left out. */
function fitLines(lines: readonly string[], max: number, more: (count: number) => string): string {
  const kept: string[] = [];
  let length = 0;
  for (const [index, line] of lines.entries()) {
    const tail = index < lines.length - 1 ? more(lines.length - index - 1).length + 1 : 0;
    if (length + line.length + 1 + tail > max) return [...kept, more(lines.length - index)].join('\n');
    kept.push(line);
    length += line.length + 1;
  }
  return kept.join('\n');
}
