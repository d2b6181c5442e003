import { afterEach, describe, expect, it } from 'vitest';
import type { InteractionHandle, RecordedMessage } from '../emulators/discord/index.js';
import { GatewayOp } from '../emulators/discord/index.js';
import { createWorld, freePort, idsAskedIn, MEMBER_ID, resultFooterOf, settle, waitUntil, type World } from './harness.js';

/**
 * Gateway resilience (issue 11, item 3): the real bot process loses its gateway connection while
 * generations run — op 7 RECONNECT, a socket dropped with no close frame, op 9 INVALID_SESSION —
 * and must come back (RESUME, or a fresh IDENTIFY when the session is gone), answer new commands
 * within Discord's 3 s, and deliver every running job exactly once with no second submit.
 *
 * The emulator holds the bot's RESUME/IDENTIFY unanswered for a moment, so each scenario can look
 * at the bot while it is reconnecting (/readyz answers 503, results still go out over REST) without
 * racing discord.js's ~0.5 s reconnect.
 */

// Prompts starting with this run until the test finishes them (`ace.finishTask`); others take 2.5 s.
const SLOW = 'slow:';
const SLOW_GENERATION_MS = 10 * 60_000;
const SCENARIO_TIMEOUT_MS = 120_000;
const WAIT_MS = 30_000;
// A duplicate post would come within a few poll intervals (200 ms) or one publish retry.
const SETTLE_MS = 2_000;
// Discord's own deadline for the first answer to an interaction.
const DISCORD_ACK_DEADLINE_MS = 3_000;

/** How the connection is lost, and how the bot must come back. */
interface Disruption {
  name: string;
  cause: (world: World) => void;
  /** The handshake the bot sends first on its new socket (held by the emulator for a moment). */
  firstHandshake: number;
  /** Whether the session survives (RESUME) or the bot must IDENTIFY again. */
  resumes: boolean;
}

const RECONNECT: Disruption = {
  name: 'op 7 RECONNECT',
  cause: (world) => world.discord.requestReconnect(),
  firstHandshake: GatewayOp.Resume,
  resumes: true,
};
const DROPPED_SOCKET: Disruption = {
  name: 'socket dropped with no close frame',
  cause: (world) => world.discord.dropConnection(),
  firstHandshake: GatewayOp.Resume,
  resumes: true,
};
const INVALID_SESSION: Disruption = {
  name: 'op 9 INVALID_SESSION (not resumable)',
  cause: (world) => world.discord.invalidateSession(false),
  firstHandshake: GatewayOp.Identify,
  resumes: false,
};
// Discord forgot the session while the bot was away: its RESUME gets op 9, and it must IDENTIFY.
const RESUME_REFUSED: Disruption = {
  name: 'socket closed and the session forgotten (RESUME answered with op 9)',
  cause: (world) => world.discord.disconnectClient({ code: 4000, resumable: false }),
  firstHandshake: GatewayOp.Resume,
  resumes: false,
};

const worlds: World[] = [];
afterEach(async () => {
  await Promise.allSettled(worlds.splice(0).map((w) => w.close()));
});

interface Running {
  world: World;
  channelId: string;
  readyzUrl: string;
}

async function startWorld(): Promise<Running> {
  const port = await freePort();
  const world = await createWorld({ ace: { generationTimeMs: 2500 }, env: { HTTP_PORT: String(port) } });
  worlds.push(world);
  world.ace.setTaskPlanner((body) => (String(body.prompt).startsWith(SLOW) ? { generationTimeMs: SLOW_GENERATION_MS } : undefined));
  await world.startBot();
  return { world, channelId: world.channelOf(world.guilds[0]!), readyzUrl: `http://127.0.0.1:${port}/readyz` };
}

function generate(run: Running, prompt: string, options: { ackDeadlineMs?: number } = {}): InteractionHandle {
  return run.world.discord.sendCommand({
    guildId: run.world.guilds[0]!.id,
    channelId: run.channelId,
    userId: MEMBER_ID,
    name: 'sora',
    subcommand: 'generate',
    options: { prompt },
    ...(options.ackDeadlineMs === undefined ? {} : { ackDeadlineMs: options.ackDeadlineMs }),
  });
}

async function readyz(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

function submitsOf(world: World, prompt: string) {
  return world.ace.requestsTo('/sora/videos').filter((r) => (r.body as { prompt?: unknown } | undefined)?.prompt === prompt);
}

function providerTaskIdOf(world: World, prompt: string): string | undefined {
  return [...world.ace.tasks.values()].find((t) => t.request.prompt === prompt)?.id;
}

/** Submitted and polled at least once: the job is running on the provider. Returns the provider task id. */
async function waitUntilRunning(world: World, prompt: string): Promise<string> {
  const id = await waitUntil(() => providerTaskIdOf(world, prompt), WAIT_MS, `the submit of "${prompt}"`);
  await waitUntil(() => world.ace.requestsTo('/sora/tasks').some((r) => idsAskedIn(r).includes(id)), WAIT_MS, `a poll of "${prompt}"`);
  return id;
}

function resultsOf(run: Running, providerTaskId: string): RecordedMessage[] {
  return run.world.discord.channelMessages(run.channelId).filter((m) => resultFooterOf(m)?.providerTaskId === providerTaskId);
}

function waitForResult(run: Running, providerTaskId: string): Promise<RecordedMessage> {
  return run.world.discord.waitForMessage(run.channelId, (m) => resultFooterOf(m)?.providerTaskId === providerTaskId, WAIT_MS);
}

/**
 * One scenario: three jobs running, the disruption, a job finished while the bot is offline, a
 * command sent while it is offline (replayed on RESUME; lost with the session otherwise), then a new
 * command, and every job counted.
 */
async function survives(disruption: Disruption): Promise<void> {
  const run = await startWorld();
  const { world } = run;
  const { discord } = world;
  expect(await readyz(run.readyzUrl)).toEqual({ status: 200, body: '{"status":"ready"}' });

  // Three jobs running across the disruption: one finishes while the bot is offline, two after.
  const prompts = [`${SLOW} a lighthouse in a storm`, `${SLOW} a fox in fresh snow`, `${SLOW} a paper boat in the rain`];
  const handles = prompts.map((prompt) => generate(run, prompt));
  for (const handle of handles) expect(handle.deliveredTo).toBe(1);
  await Promise.all(handles.map((h) => h.waitForAck(WAIT_MS)));
  const providerIds = await Promise.all(prompts.map((p) => waitUntilRunning(world, p)));

  const identifiesBefore = discord.framesReceived(GatewayOp.Identify).length;
  const resumesBefore = discord.framesReceived(GatewayOp.Resume).length;
  const handshake = disruption.firstHandshake;
  const handshakesBefore = discord.framesReceived(handshake).length;
  const back = new Promise<boolean>((resolve) => discord.events.once('gatewayReady', (e) => resolve(e.resumed)));

  const release = discord.holdHandshakes();
  let offlineCommand: InteractionHandle | undefined;
  const offlinePrompt = 'a kite over the dunes';
  try {
    disruption.cause(world);

    // The bot is back on a socket and asked to RESUME (or IDENTIFY); the emulator holds the answer.
    await discord.waitFor(
      () => discord.framesReceived(handshake).length > handshakesBefore,
      WAIT_MS,
      `${disruption.name}: the bot's op ${handshake}`,
    );
    expect(discord.isGatewayConnected).toBe(false);
    const notReady = await readyz(run.readyzUrl);
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.body)).toMatchObject({ status: 'not_ready', reason: 'discord_gateway_not_ready' });

    // A job that ends while the gateway is down is still posted (results go over REST).
    world.ace.finishTask(providerIds[0]!);
    await waitForResult(run, providerIds[0]!);

    // A command sent meanwhile waits in the session for RESUME; a forgotten session has none to keep it.
    if (disruption.resumes) {
      offlineCommand = generate(run, offlinePrompt, { ackDeadlineMs: 60_000 });
      expect(offlineCommand.deliveredTo).toBe(0);
    }
  } finally {
    release();
  }

  // Back: a RESUME of the same session, or (session gone) exactly one new IDENTIFY.
  expect(await back).toBe(disruption.resumes);
  await discord.waitForGatewayConnected(WAIT_MS);
  const tried = disruption.firstHandshake === GatewayOp.Resume ? 1 : 0;
  expect(discord.framesReceived(GatewayOp.Resume)).toHaveLength(resumesBefore + tried);
  expect(discord.framesReceived(GatewayOp.Identify)).toHaveLength(identifiesBefore + (disruption.resumes ? 0 : 1));
  await expectReadyWithin(run.readyzUrl);

  // The command sent while the bot was away is replayed on RESUME and answered in Discord's 3 s (the
  // emulator's deadline for it is stretched only so that a slow machine fails on this line, not earlier).
  if (offlineCommand) {
    await offlineCommand.waitForAck(WAIT_MS);
    expect(offlineCommand.ackLatencyMs!).toBeLessThan(DISCORD_ACK_DEADLINE_MS);
  }

  // A new command is acknowledged within Discord's 3 s.
  const freshPrompt = 'a hot-air balloon at dawn';
  const fresh = generate(run, freshPrompt);
  expect(fresh.deliveredTo).toBe(1);
  await fresh.waitForAck(WAIT_MS);
  expect(fresh.ackLatencyMs).not.toBeNull();
  expect(fresh.ackLatencyMs!).toBeLessThan(DISCORD_ACK_DEADLINE_MS);

  // The jobs still running end now; every job is posted once.
  for (const id of providerIds.slice(1)) world.ace.finishTask(id);
  const allPrompts = [...prompts, freshPrompt, ...(offlineCommand ? [offlinePrompt] : [])];
  const allIds = [...providerIds];
  for (const prompt of allPrompts.slice(prompts.length)) allIds.push(await waitUntilRunning(world, prompt));
  await Promise.all(allIds.map((id) => waitForResult(run, id)));
  await settle(SETTLE_MS);

  for (const [index, id] of allIds.entries()) {
    const messages = resultsOf(run, id);
    expect(messages, `results of "${allPrompts[index]}"`).toHaveLength(1);
    expect(resultFooterOf(messages[0]!)?.marker, `marker of "${allPrompts[index]}"`).toBe('video');
    expect(submitsOf(world, allPrompts[index]!), `submits of "${allPrompts[index]}"`).toHaveLength(1);
  }
  const taskIds = allIds.map((id) => resultFooterOf(resultsOf(run, id)[0]!)!.taskId);
  expect(new Set(taskIds).size).toBe(allIds.length);
  expect(world.ace.requestsTo('/sora/videos')).toHaveLength(allPrompts.length);
  // Nothing else appeared in the channel (no second copy under another footer, no stray notice).
  const results = discord.channelMessages(run.channelId).filter((m) => resultFooterOf(m) !== undefined);
  expect(results).toHaveLength(allIds.length);
  expect(world.bot!.child.exitCode).toBeNull();
  expect(
    world.bot!.logs.filter((l) => l.level >= 50).map((l) => l.msg),
    'error logs of the bot',
  ).toEqual([]);
}

/** /readyz answers 200 again (the shard is ready), within a generous wait. */
async function expectReadyWithin(url: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  let last = await readyz(url);
  while (last.status !== 200 && Date.now() < deadline) {
    await settle(100);
    last = await readyz(url);
  }
  expect(last).toEqual({ status: 200, body: '{"status":"ready"}' });
}

describe('e2e: gateway resilience (reconnects while generations run)', () => {
  it(
    'op 7 RECONNECT: the bot RESUMEs, answers the command sent meanwhile and a new one within 3 s, and posts every job once',
    () => survives(RECONNECT),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'a socket dropped with no close frame (1006): the bot reconnects and RESUMEs, and every job is posted once, submitted once',
    () => survives(DROPPED_SOCKET),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'op 9 INVALID_SESSION (not resumable): the bot IDENTIFYs again, answers a new command within 3 s, and every running job is posted once',
    () => survives(INVALID_SESSION),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'a RESUME refused because Discord forgot the session: the bot IDENTIFYs again, and every running job is posted once',
    () => survives(RESUME_REFUSED),
    SCENARIO_TIMEOUT_MS,
  );
});
