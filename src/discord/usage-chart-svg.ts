/**
 * The usage chart as SVG: one bar per UTC day (credits), grid lines, a tick per day and the daily
 * budget as a dashed line. It has no text on purpose: text in an SVG needs fonts at rasterisation,
 * and the Docker image (node:20-bookworm-slim) has none, so a label would render here and vanish
 * there. Dates and numbers live in the embed next to it, which also states the scale.
 */

/** Colours of the chart (Discord's dark theme), exported so tests can look for them in the PNG. */
export const USAGE_CHART_COLOURS = {
  background: '#2b2d31',
  grid: '#4e5058',
  bar: '#5865f2',
  /** A day that spent more than the budget. */
  overBudget: '#ed4245',
  budget: '#fee75c',
} as const;

/** Grid lines across the plot (the embed says how many credits one step is). */
export const USAGE_CHART_GRID_STEPS = 4;

/** Size and padding of the chart in pixels. */
export interface UsageChartLayout {
  width: number;
  height: number;
  padding: number;
}

export const USAGE_CHART_LAYOUT: UsageChartLayout = { width: 800, height: 300, padding: 20 };

/** One bar of the chart: where it is, for tests and for callers that annotate it. */
export interface UsageChartBar {
  day: string;
  credits: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What `usageChartSvg` draws. */
export interface UsageChartInput {
  perDay: ReadonlyArray<{ day: string; credits: number }>;
  /** The guild's daily budget in credits; 0 or absent: no line. */
  budgetCredits?: number;
}

/** The SVG and its geometry. */
export interface UsageChart {
  svg: string;
  width: number;
  height: number;
  /** Credits at the top of the plot (a round number ≥ every bar and the budget). */
  scaleMaxCredits: number;
  /** Credits between two grid lines. */
  gridStepCredits: number;
  bars: UsageChartBar[];
  /** The budget line's y, when drawn. */
  budgetY?: number;
}

/**
 * The smallest "round" number (1, 2 or 5 times a power of ten, times the grid steps) that holds
 * `value`, so each grid step is a number people read at a glance; 0 becomes one step of 1.
 */
export function chartScaleMax(value: number, steps = USAGE_CHART_GRID_STEPS): number {
  if (!(value > 0)) return steps;
  const rawStep = value / steps;
  const magnitude = 10 ** Math.floor(Math.log10(rawStep));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= rawStep - 1e-9)!;
  return roundTo(step * steps);
}

/** Draws the chart; pure (no I/O), so the bars can be checked against the data. */
export function usageChartSvg(input: UsageChartInput, layout: UsageChartLayout = USAGE_CHART_LAYOUT): UsageChart {
  const { width, height, padding } = layout;
  const budget = input.budgetCredits && input.budgetCredits > 0 ? input.budgetCredits : 0;
  const peak = Math.max(budget, ...input.perDay.map((d) => d.credits));
  const scaleMaxCredits = chartScaleMax(peak);
  const gridStepCredits = roundTo(scaleMaxCredits / USAGE_CHART_GRID_STEPS);
  const plotLeft = padding;
  const plotTop = padding;
  const plotWidth = width - 2 * padding;
  const plotHeight = height - 2 * padding;
  const baseline = plotTop + plotHeight;
  const slotWidth = plotWidth / Math.max(1, input.perDay.length);
  // A gap of a fifth of the slot keeps neighbouring bars apart even at 90 days.
  const barWidth = Math.max(1, slotWidth * 0.8);
  const yOf = (credits: number) => baseline - (credits / scaleMaxCredits) * plotHeight;

  const bars: UsageChartBar[] = input.perDay.map((d, index) => {
    const barHeight = (d.credits / scaleMaxCredits) * plotHeight;
    return {
      day: d.day,
      credits: d.credits,
      x: roundTo(plotLeft + index * slotWidth + (slotWidth - barWidth) / 2),
      y: roundTo(baseline - barHeight),
      width: roundTo(barWidth),
      height: roundTo(barHeight),
    };
  });

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="${USAGE_CHART_COLOURS.background}"/>`,
  ];
  for (let step = 1; step <= USAGE_CHART_GRID_STEPS; step += 1) {
    const y = roundTo(yOf(step * gridStepCredits));
    parts.push(
      `<line class="grid" x1="${plotLeft}" y1="${y}" x2="${plotLeft + plotWidth}" y2="${y}" stroke="${USAGE_CHART_COLOURS.grid}" stroke-width="1"/>`,
    );
  }
  for (const bar of bars) {
    const fill = budget > 0 && bar.credits > budget ? USAGE_CHART_COLOURS.overBudget : USAGE_CHART_COLOURS.bar;
    parts.push(
      `<rect class="bar" data-day="${bar.day}" data-credits="${bar.credits}" x="${bar.x}" y="${bar.y}" width="${bar.width}" height="${bar.height}" fill="${fill}"/>`,
    );
    const tickX = roundTo(bar.x + bar.width / 2);
    parts.push(
      `<line class="tick" x1="${tickX}" y1="${baseline}" x2="${tickX}" y2="${baseline + 6}" stroke="${USAGE_CHART_COLOURS.grid}" stroke-width="2"/>`,
    );
  }
  parts.push(
    `<line class="axis" x1="${plotLeft}" y1="${baseline}" x2="${plotLeft + plotWidth}" y2="${baseline}" stroke="${USAGE_CHART_COLOURS.grid}" stroke-width="2"/>`,
  );
  let budgetY: number | undefined;
  if (budget > 0) {
    budgetY = roundTo(yOf(budget));
    parts.push(
      `<line class="budget" x1="${plotLeft}" y1="${budgetY}" x2="${plotLeft + plotWidth}" y2="${budgetY}" stroke="${USAGE_CHART_COLOURS.budget}" stroke-width="3" stroke-dasharray="12 6"/>`,
    );
  }
  parts.push('</svg>');
  return { svg: parts.join(''), width, height, scaleMaxCredits, gridStepCredits, bars, ...(budgetY !== undefined ? { budgetY } : {}) };
}

function roundTo(value: number): number {
  return Math.round(value * 100) / 100;
}
