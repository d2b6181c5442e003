import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EMULATOR_API_TOKEN,
  VIDEO_DOWNLOAD_PATH,
  emulatedVideoBytes,
  startAceDataEmulator,
  type AceDataEmulator,
} from './acedata-emulator.js';

const BYTES = 200 * 1024 + 5;
const agent = new Agent();

describe('Ace Data Cloud emulator: video download faults', () => {
  let emulator: AceDataEmulator;
  let videoPath: string;

  beforeEach(async () => {
    emulator = await startAceDataEmulator({ generationTimeMs: 60_000, videoBytes: BYTES });
    const submitted = await request(`${emulator.url}/sora/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${EMULATOR_API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'p', model: 'sora-2', duration: 10, orientation: 'landscape', async: true }),
      dispatcher: agent,
    });
    const { task_id: id } = (await submitted.body.json()) as { task_id: string };
    emulator.finishTask(id);
    videoPath = `/videos/${id}.mp4`;
  });
  afterEach(async () => {
    await emulator.close();
  });
  afterAll(async () => {
    await agent.close();
  });

  const get = async (): Promise<{ status: number; body: Buffer }> => {
    const response = await request(`${emulator.url}${videoPath}`, { dispatcher: agent });
    return { status: response.statusCode, body: Buffer.from(await response.body.arrayBuffer()) };
  };

  it('serves the bytes emulatedVideoBytes describes', async () => {
    expect(VIDEO_DOWNLOAD_PATH.test(videoPath)).toBe(true);
    const { status, body } = await get();
    expect(status).toBe(200);
    expect(body.equals(emulatedVideoBytes(BYTES))).toBe(true);
  });

  it('answers 503 N times, then the video', async () => {
    emulator.failNext(VIDEO_DOWNLOAD_PATH, { kind: 'respond', status: 503 }, 2);
    expect((await get()).status).toBe(503);
    expect((await get()).status).toBe(503);
    expect((await get()).body.length).toBe(BYTES);
  });

  it('stall: sends the headers and the first bytes, then nothing until the client gives up', async () => {
    emulator.failNext(VIDEO_DOWNLOAD_PATH, { kind: 'stall', afterBytes: 64 * 1024 }, 1);
    const response = await request(`${emulator.url}${videoPath}`, { dispatcher: agent });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-length']).toBe(String(BYTES));
    let received = 0;
    const reading = (async () => {
      for await (const chunk of response.body) received += (chunk as Buffer).length;
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received).toBe(64 * 1024);
    response.body.destroy();
    await reading.catch(() => undefined);
    expect(emulator.requestsTo(videoPath).map((r) => r.fault)).toEqual(['stall']);
    // The next request is served in full.
    expect((await get()).body.length).toBe(BYTES);
  });
});
