import { readFileSync } from 'node:fs';

/**
 * The node flags of `npm start` (package.json's `start` script), without `--env-file-if-exists`:
 * the end-to-end tests and the bench spawn the bot with them, so they measure what production runs.
 */
export function startNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
  const [program, ...words] = pkg.scripts.start.split(/\s+/);
  if (program !== 'node') throw new Error(`the start script does not run node: ${pkg.scripts.start}`);
  return words.filter((word) => word.startsWith('--') && !word.startsWith('--env-file'));
}
