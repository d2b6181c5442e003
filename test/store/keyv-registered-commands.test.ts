import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeyvRegisteredCommands } from '../../src/store/keyv-registered-commands.js';
import { openStoreBackend } from '../../src/store/open-store.js';

const tempDir = mkdtempSync(join(tmpdir(), 'sora-registered-commands-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

describe('createKeyvRegisteredCommands', () => {
  it('keeps one hash per key, apart from the other namespaces, across reopening the sqlite file', async () => {
    const url = `sqlite://${join(tempDir, 'bot.sqlite')}`;
    const backend = openStoreBackend(url);
    const record = createKeyvRegisteredCommands(backend);
    expect(await record.get('app:global')).toBeUndefined();
    await record.set('app:global', 'aaa');
    await record.set('app:guild:1', 'bbb');
    await record.set('app:global', 'ccc');
    expect(await backend.keyv('settings').get('app:global')).toBeUndefined();
    await backend.close();

    const reopened = openStoreBackend(url);
    const again = createKeyvRegisteredCommands(reopened);
    expect(await again.get('app:global')).toBe('ccc');
    expect(await again.get('app:guild:1')).toBe('bbb');
    await reopened.close();
  });
});
