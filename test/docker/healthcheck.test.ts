import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

/** The Dockerfile's HEALTHCHECK command, as the exec-form JSON array after `CMD`. */
function healthcheckCommand(): string[] {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8').replace(/\\\n/g, ' ');
  const line = dockerfile.split('\n').find((l) => l.startsWith('HEALTHCHECK '));
  if (!line) throw new Error('the Dockerfile has no HEALTHCHECK');
  const json = line.slice(line.indexOf(' CMD ') + ' CMD '.length).trim();
  return JSON.parse(json) as string[];
}

/** Runs the check as Docker would (the container's environment), returning its exit code. */
function runCheck(env: Record<string, string>): Promise<number> {
  const [program, ...args] = healthcheckCommand();
  expect(program).toBe('node');
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 15_000 }, (error) => {
      resolve(error ? (typeof error.code === 'number' ? error.code : -1) : 0);
    });
  });
}

let server: Server | undefined;

async function serve(status: number): Promise<number> {
  server = createServer((request, response) => {
    response.writeHead(request.url === '/healthz' ? status : 404).end();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

afterEach(async () => {
  if (server) await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

describe('Dockerfile HEALTHCHECK', () => {
  it('passes when /healthz answers 200 on HTTP_PORT (HTTP_HOST 0.0.0.0 is asked on 127.0.0.1)', async () => {
    const port = await serve(200);
    expect(await runCheck({ HTTP_PORT: String(port), HTTP_HOST: '0.0.0.0' })).toBe(0);
  });

  it('fails when /healthz answers an error', async () => {
    const port = await serve(500);
    expect(await runCheck({ HTTP_PORT: String(port), HTTP_HOST: '0.0.0.0' })).toBe(1);
  });

  it('fails when nothing listens', async () => {
    const port = await serve(200);
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    expect(await runCheck({ HTTP_PORT: String(port) })).toBe(1);
  });

  it('passes without asking when HTTP is off', async () => {
    expect(await runCheck({ HTTP_PORT: 'off' })).toBe(0);
    expect(await runCheck({ HTTP_PORT: '0' })).toBe(0);
  });
});
