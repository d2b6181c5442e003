import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('e2e: start-up without configuration', () => {
  it('lists every missing variable, without a stack trace, and exits non-zero', () => {
    const result = spawnSync(process.execPath, ['dist/src/main.js'], {
      env: { PATH: process.env.PATH ?? '', POLL_INTERVAL_MS: 'soon' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('DISCORD_TOKEN');
    expect(result.stderr).toContain('ACEDATA_API_TOKEN');
    expect(result.stderr).toContain('POLL_INTERVAL_MS');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });

  it('never echoes a secret it was given in a malformed variable', () => {
    const secret = 'sk-very-secret-ace-token-123456';
    const result = spawnSync(process.execPath, ['dist/src/main.js'], {
      env: { PATH: process.env.PATH ?? '', ACEDATA_API_TOKEN: secret, DISCORD_TOKEN: `Bot ${secret}` },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr + result.stdout).not.toContain(secret);
  });
});
