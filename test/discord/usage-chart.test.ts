import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { svgToPng } from '../../src/discord/usage-chart-png.js';
import { chartScaleMax, USAGE_CHART_COLOURS, USAGE_CHART_LAYOUT, usageChartSvg } from '../../src/discord/usage-chart-svg.js';

const PER_DAY = [
  { day: '2026-11-28', credits: 3 },
  { day: '2026-11-29', credits: 0 },
  { day: '2026-11-30', credits: 12.5 },
  { day: '2026-12-01', credits: 7 },
  { day: '2026-12-02', credits: 1 },
];

/** The attributes of every `<rect class="bar" …>` in the SVG text (read back, not from the returned geometry). */
function barsIn(svg: string): Array<Record<string, string>> {
  return [...svg.matchAll(/<rect class="bar"([^>]*)\/>/g)].map((match) =>
    Object.fromEntries([...match[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((attr) => [attr[1]!, attr[2]!])),
  );
}

function hex(rgb: number[]): string {
  return `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

describe('chartScaleMax', () => {
  it('rounds up to a grid of round steps', () => {
    expect(chartScaleMax(12.5)).toBe(20);
    expect(chartScaleMax(40)).toBe(40);
    expect(chartScaleMax(41)).toBe(80);
    expect(chartScaleMax(0.3)).toBe(0.4);
    expect(chartScaleMax(0)).toBe(4);
  });
});

describe('usageChartSvg', () => {
  it('draws one bar per day, in order, with heights in proportion to the credits', () => {
    const chart = usageChartSvg({ perDay: PER_DAY });
    const bars = barsIn(chart.svg);
    expect(bars.map((b) => b['data-day'])).toEqual(PER_DAY.map((d) => d.day));
    const plotHeight = USAGE_CHART_LAYOUT.height - 2 * USAGE_CHART_LAYOUT.padding;
    expect(chart.scaleMaxCredits).toBe(20);
    for (const [index, bar] of bars.entries()) {
      const expected = (PER_DAY[index]!.credits / 20) * plotHeight;
      expect(Number(bar.height)).toBeCloseTo(expected, 1);
      // Every bar stands on the baseline.
      expect(Number(bar.y) + Number(bar.height)).toBeCloseTo(USAGE_CHART_LAYOUT.height - USAGE_CHART_LAYOUT.padding, 1);
    }
    const xs = bars.map((b) => Number(b.x));
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(chart.svg).not.toContain('class="budget"');
    // No text: fonts are not there in the Docker image.
    expect(chart.svg).not.toMatch(/<text/);
    expect(chart.svg.match(/class="tick"/g)).toHaveLength(PER_DAY.length);
  });

  it('draws the budget as a line at its height and colours the days above it', () => {
    const chart = usageChartSvg({ perDay: PER_DAY, budgetCredits: 10 });
    const plotHeight = USAGE_CHART_LAYOUT.height - 2 * USAGE_CHART_LAYOUT.padding;
    const budgetLine = /<line class="budget" x1="[^"]*" y1="([^"]*)"/.exec(chart.svg);
    expect(Number(budgetLine?.[1])).toBeCloseTo(USAGE_CHART_LAYOUT.height - USAGE_CHART_LAYOUT.padding - (10 / 20) * plotHeight, 1);
    const fills = barsIn(chart.svg).map((b) => b.fill);
    expect(fills).toEqual([
      USAGE_CHART_COLOURS.bar,
      USAGE_CHART_COLOURS.bar,
      USAGE_CHART_COLOURS.overBudget,
      USAGE_CHART_COLOURS.bar,
      USAGE_CHART_COLOURS.bar,
    ]);
  });

  it('lifts the scale to a budget above every bar, so the line stays in the plot', () => {
    const chart = usageChartSvg({ perDay: PER_DAY, budgetCredits: 50 });
    expect(chart.scaleMaxCredits).toBe(80);
    expect(chart.budgetY).toBeGreaterThan(USAGE_CHART_LAYOUT.padding);
  });

  it('keeps 90 bars apart inside the plot', () => {
    const perDay = Array.from({ length: 90 }, (_, i) => ({ day: `d${i}`, credits: i }));
    const bars = barsIn(usageChartSvg({ perDay }).svg).map((b) => ({ x: Number(b.x), width: Number(b.width) }));
    expect(bars).toHaveLength(90);
    for (let i = 1; i < bars.length; i += 1) expect(bars[i]!.x).toBeGreaterThan(bars[i - 1]!.x + bars[i - 1]!.width);
    expect(bars.at(-1)!.x + bars.at(-1)!.width).toBeLessThanOrEqual(USAGE_CHART_LAYOUT.width - USAGE_CHART_LAYOUT.padding);
  });
});

describe('svgToPng', () => {
  it('makes a PNG of the chart size whose bars have the bar colour where the SVG put them', async () => {
    const chart = usageChartSvg({ perDay: PER_DAY, budgetCredits: 10 });
    const png = await svgToPng(chart.svg);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(info).toMatchObject({ format: 'raw', width: USAGE_CHART_LAYOUT.width, height: USAGE_CHART_LAYOUT.height });
    const pixel = (x: number, y: number) => {
      const offset = (Math.round(y) * info.width + Math.round(x)) * info.channels;
      return hex([...data.subarray(offset, offset + 3)]);
    };
    const [first, empty, over] = chart.bars;
    expect(pixel(first!.x + first!.width / 2, first!.y + first!.height / 2)).toBe(USAGE_CHART_COLOURS.bar);
    expect(pixel(over!.x + over!.width / 2, over!.y + over!.height - 5)).toBe(USAGE_CHART_COLOURS.overBudget);
    // Above a bar (and on an empty day) is background.
    expect(pixel(first!.x + first!.width / 2, first!.y - 10)).toBe(USAGE_CHART_COLOURS.background);
    expect(pixel(empty!.x + empty!.width / 2, empty!.y - 10)).toBe(USAGE_CHART_COLOURS.background);
    // The budget line, between two bars' dashes: look along it for its colour.
    const alongBudget = Array.from({ length: 40 }, (_, i) => pixel(empty!.x + i, chart.budgetY!));
    expect(alongBudget).toContain(USAGE_CHART_COLOURS.budget);
  });
});
