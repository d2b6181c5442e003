import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startNodeFlags } from '../e2e/start-command.js';

/** The Dockerfile's CMD, as the exec-form JSON array. */
function dockerCommand(): string[] {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  const line = dockerfile.split('\n').find((l) => l.startsWith('CMD '));
  if (!line) throw new Error('the Dockerfile has no CMD');
  return JSON.parse(line.slice('CMD '.length)) as string[];
}

describe('the node flags the bot starts with', () => {
  it('are the same in the image and in npm start (the tests and the bench spawn the latter)', () => {
    expect(dockerCommand()).toEqual(['node', ...startNodeFlags(), 'dist/src/main.js']);
  });

  it('size the heap for a small machine and keep source maps', () => {
    // V8's default on a large machine lets the old space grow four times over before it collects:
    // ~250 MB instead of ~180 MB holding 10 000 queued jobs (bench "memory with a long queue").
    expect(startNodeFlags()).toEqual(
      expect.arrayContaining(['--enable-source-maps', '--max-old-space-size=512', '--max-semi-space-size=8']),
    );
  });
});
