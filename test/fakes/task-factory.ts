import type { Task } from '../../src/core/task.js';

let counter = 0;

/** A valid ledger entry for tests; `createdAt` defaults to the (possibly fake) current time. */
export function makeTask(overrides: Partial<Task> = {}): Task {
  counter++;
  const now = new Date().toISOString();
  return {
    schemaVersion: 1,
    id: `task${String(counter).padStart(6, '0')}`,
    guildId: 'guild-1',
    channelId: 'channel-1',
    userId: 'user-1',
    request: { prompt: `prompt ${counter}`, model: 'sora-2', duration: 10, orientation: 'landscape', size: 'small' },
    state: 'queued',
    uploadLimitBytes: 10 * 1024 * 1024,
    submitAttempts: 0,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}
