import { cpus, totalmem } from 'node:os';

/** How a figure compares with the target. */
export type Verdict = 'met' | 'missed' | 'info' | 'n/a' | 'skipped';

/** One line of the result table. */
export interface Row {
  section: string;
  metric: string;
  value: string;
  target?: string;
  verdict: Verdict;
}

/** Rows of one section plus free-text notes printed under the table. */
export interface SectionResult {
  rows: Row[];
  notes: string[];
}

/** A section that could not run: one row saying why. */
export function skippedSection(section: string, reason: string): SectionResult {
  return { rows: [{ section, metric: '(whole section)', value: `skipped: ${reason}`, verdict: 'skipped' }], notes: [] };
}

/** met/missed from a boolean. */
export function verdict(ok: boolean): Verdict {
  return ok ? 'met' : 'missed';
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The rows as a Markdown table. */
export function renderTable(rows: readonly Row[]): string {
  const header = ['section', 'metric', 'value', 'target', 'verdict'];
  const cells = rows.map((r) => [r.section, r.metric, r.value, r.target ?? '', r.verdict].map(escapeCell));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: readonly string[]) => `| ${values.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

/** CPU model, cores, RAM and Node version of this machine. */
export function machineDescription(): string {
  const cpu = cpus();
  const model = cpu[0]?.model.trim() ?? 'unknown CPU';
  const ramGiB = (totalmem() / 1024 ** 3).toFixed(1);
  return `${model}, ${cpu.length} cores, ${ramGiB} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}`;
}
