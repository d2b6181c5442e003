import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, freePort, MEMBER_ID, resultFooterOf, settle, type BotProcess, type World } from './harness.js';

/**
 * Graceful shutdown of the real bot process (issue 6): SIGTERM in the middle of a generation exits
 * with code 0 well inside Docker's 10 s, and the next start on the same store delivers the video
 * exactly once. Along the way the operations HTTP server answers on the bot process.
 */

// Generations run until the test ends them with `ace.finishTask`, so nothing depends on timing.
const GENERATION_MS = 10 * 60_000;
const EXIT_DEADLINE_MS = 10_000;
const SCENARIO_TIMEOUT_MS = 60_000;
// A duplicate post would come within a few poll intervals (200 ms) or one publish retry.
const SETTLE_MS = 1_000;

async function get(baseUrl: string, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${baseUrl}${path}`);
  return { status: response.status, body: await response.text() };
}

/** The exit code, or a failure when the process is still running after `deadlineMs`. */
async function exitWithin(bot: BotProcess, deadlineMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the bot did not exit within ${deadlineMs} ms of SIGTERM`)), deadlineMs);
  });
  try {
    return await Promise.race([bot.kill('SIGTERM'), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe('e2e: graceful shutdown and the operations HTTP server', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld({ ace: { generationTimeMs: GENERATION_MS } });
  });
  afterAll(async () => {
    await world.close();
  });

  it(
    'answers /healthz, /readyz and /metrics, exits 0 on SIGTERM mid-generation, and the next start delivers the video once',
    async () => {
      const guild = world.guilds[0]!;
      const channelId = world.channelOf(guild);

      const firstPort = await freePort();
      const first = await world.startBot({ HTTP_PORT: String(firstPort) });
      const firstUrl = `http://127.0.0.1:${firstPort}`;
      expect(await get(firstUrl, '/healthz')).toEqual({ status: 200, body: '{"status":"ok"}' });
      expect(await get(firstUrl, '/readyz')).toEqual({ status: 200, body: '{"status":"ready"}' });

      const handle = world.discord.sendCommand({
        guildId: guild.id,
        channelId,
        userId: MEMBER_ID,
        name: 'sora',
        subcommand: 'generate',
        options: { prompt: 'a lighthouse in a storm' },
      });
      await handle.waitForAck();
      const submitted = await first.waitForLog((line) => line.msg === 'submitted', 15_000);
      const providerTaskId = String(submitted.providerTaskId);
      const taskId = String(submitted.taskId);

      const metrics = await get(firstUrl, '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain('sora_bot_submits_total{outcome="accepted"} 1');
      expect(metrics.body).toContain('sora_bot_jobs{state="running"} 1');
      expect(metrics.body).toContain('sora_bot_discord_gateway_ready 1');

      // Mid-generation: submitted at the provider, nothing posted yet.
      expect(world.discord.channelMessages(channelId)).toHaveLength(0);
      expect(await exitWithin(first, EXIT_DEADLINE_MS)).toBe(0);
      expect(first.logs.some((line) => line.msg === 'stopped')).toBe(true);
      expect(first.logs.filter((line) => line.level >= 50)).toEqual([]);
      await expect(fetch(`${firstUrl}/healthz`)).rejects.toThrow();

      const secondPort = await freePort();
      const second = await world.startBot({ HTTP_PORT: String(secondPort) });
      const secondUrl = `http://127.0.0.1:${secondPort}`;
      world.ace.finishTask(providerTaskId);

      const message = await world.discord.waitForMessage(channelId, (m) => resultFooterOf(m)?.taskId === taskId, 20_000);
      expect(message.attachments).toHaveLength(1);
      await settle(SETTLE_MS);
      expect(world.discord.channelMessages(channelId)).toHaveLength(1);
      // Never submitted again after the restart (the API has no idempotency key).
      expect(world.ace.requestsTo('/sora/videos')).toHaveLength(1);

      const after = (await get(secondUrl, '/metrics')).body;
      expect(after).toContain('sora_bot_deliveries_total{mode="upload"} 1');
      expect(after).toContain('sora_bot_delivery_latency_seconds_count 1');
      expect(after).not.toContain('sora_bot_submits_total{outcome="accepted"}');
      expect(after).toMatch(/sora_bot_status_requests_total\{outcome="ok"\} [1-9]/);

      expect(await exitWithin(second, EXIT_DEADLINE_MS)).toBe(0);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
