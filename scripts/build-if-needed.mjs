// `npm start` must work on a fresh clone: compile when dist/ is missing or older than the sources.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const output = 'dist/src/main.js';

function newestMtimeMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs;
    newest = Math.max(newest, mtime);
  }
  return newest;
}

const sourcesMtimeMs = Math.max(newestMtimeMs('src'), newestMtimeMs('commands'));
if (!existsSync(output) || statSync(output).mtimeMs < sourcesMtimeMs) {
  console.error('Building (dist/ is missing or stale)…');
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}
