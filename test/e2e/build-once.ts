import { execFileSync } from 'node:child_process';

/** vitest globalSetup: the end-to-end tests run the compiled bot, as `npm start` does; build it first. */
export default function buildOnce(): void {
  execFileSync(process.execPath, ['scripts/build-if-needed.mjs'], { stdio: 'inherit' });
}
