import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorFault, type EmulatorFault, type RecordedRequest } from '../emulators/acedata-emulator.js';
import type { InteractionHandle, RecordedMessage } from '../emulators/discord/index.js';
import { createWorld, MEMBER_ID, type World } from './harness.js';

const WAIT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 2_000;
const COOLDOWN_MS = 2_000;
const MAX_ACTIVE = 2;
const ACCOUNT_PROBLEM = /account needs attention/;

/** Resolves with the first truthy value of `probe`, checked every 25 ms (for state outside the Discord emulator). */
async function until<T>(probe: () => T | undefined | null | false, what: string, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Every content the member's ephemeral reply showed, in order. */
function replyHistory(handle: InteractionHandle): string[] {
  return handle.originalEdits.map((edit) => (typeof edit.body?.content === 'string' ? edit.body.content : ''));
}

describe('e2e: Ace Data Cloud faults (status retries, submit outcomes, circuit breaker, global cap)', { timeout: 60_000 }, () => {
  let world: World;
  let channelId: string;

  const generate = (prompt: string): InteractionHandle =>
    world.discord.sendCommand({
      guildId: world.guilds[0]!.id,
      channelId,
      userId: MEMBER_ID,
      name: 'sora',
      subcommand: 'generate',
      options: { prompt },
    });

  /** The public result of `prompt` (the prompt is the embed description; keep prompts free of markdown, it is escaped). */
  const resultOf = (prompt: string, timeoutMs = WAIT_MS): Promise<RecordedMessage> =>
    world.discord.waitForMessage(channelId, (m) => m.embeds[0]?.description === prompt, timeoutMs);

  const messagesFor = (prompt: string): RecordedMessage[] =>
    world.discord.channelMessages(channelId).filter((m) => m.embeds[0]?.description === prompt);

  const submitsOf = (prompt: string): RecordedRequest[] =>
    world.ace.requestsTo('/sora/videos').filter((r) => (r.body as { prompt?: unknown } | undefined)?.prompt === prompt);

  const tasksOf = (prompt: string) => [...world.ace.tasks.values()].filter((t) => t.request.prompt === prompt);

  const expectBotAlive = () => {
    expect(world.bot!.child.exitCode).toBeNull();
    expect(world.bot!.child.signalCode).toBeNull();
  };

  /** Prompts whose single submit must never be repeated. */
  const failedSubmitPrompts: string[] = [];

  beforeAll(async () => {
    world = await createWorld({
      env: {
        MAX_ACTIVE_GENERATIONS: String(MAX_ACTIVE),
        CIRCUIT_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
        ACEDATA_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        MEMBER_DAILY_QUOTA: '0',
      },
    });
    channelId = world.channelOf(world.guilds[0]!);
    await world.startBot();
  });
  afterAll(async () => {
    await world?.close();
  });

  describe('status requests that fail are retried and the video still arrives', () => {
    const cases: { name: string; fault: EmulatorFault; times: number; kind: RecordedRequest['fault'] }[] = [
      { name: '500 api error (twice)', fault: apiErrorFault(500, 'api_error'), times: 2, kind: 'respond' },
      { name: 'a timeout', fault: { kind: 'delay', delayMs: REQUEST_TIMEOUT_MS + 1_000 }, times: 1, kind: 'delay' },
      { name: 'malformed JSON', fault: { kind: 'malformed' }, times: 1, kind: 'malformed' },
      { name: 'a dropped connection', fault: { kind: 'drop' }, times: 1, kind: 'drop' },
    ];
    for (const { name, fault, times, kind } of cases) {
      it(`status answered with ${name}`, async () => {
        const prompt = `status fault: ${name}`;
        const pollsBefore = world.ace.requestsTo('/sora/tasks').length;
        world.ace.failNext('/sora/tasks', fault, times);
        generate(prompt);
        const message = await resultOf(prompt);

        const polls = world.ace.requestsTo('/sora/tasks').slice(pollsBefore);
        expect(polls.filter((p) => p.fault === kind)).toHaveLength(times);
        // Polls went on after the faults, until one read the result.
        const lastFault = polls.map((p) => p.fault).lastIndexOf(kind);
        expect(polls.slice(lastFault + 1).some((p) => p.status === 200)).toBe(true);
        expect(message.attachments).toHaveLength(1);
        expect(submitsOf(prompt)).toHaveLength(1);
        expect(messagesFor(prompt)).toHaveLength(1);
        expectBotAlive();
      });
    }

    it('status answered 429 with Retry-After: the next status request waits for it', async () => {
      const prompt = 'status fault: 429 with Retry-After';
      const pollsBefore = world.ace.requestsTo('/sora/tasks').length;
      world.ace.failNext('/sora/tasks', apiErrorFault(429, 'too_many_requests', 'slow down', { retryAfter: 1 }));
      generate(prompt);
      const message = await resultOf(prompt);

      const polls = world.ace.requestsTo('/sora/tasks').slice(pollsBefore);
      const limited = polls.findIndex((p) => p.status === 429);
      expect(limited).toBeGreaterThanOrEqual(0);
      const next = polls[limited + 1];
      expect(next).toBeDefined();
      expect(next!.timeMs - polls[limited]!.timeMs).toBeGreaterThanOrEqual(990);
      expect(message.attachments).toHaveLength(1);
      expect(submitsOf(prompt)).toHaveLength(1);
      expect(messagesFor(prompt)).toHaveLength(1);
      expectBotAlive();
    });
  });

  it('a 429 on submit: "queued, provider busy", submitted again later (2 submits, 1 accepted), delivered once', async () => {
    const prompt = 'submit fault: 429 too many requests';
    world.ace.failNext('/sora/videos', apiErrorFault(429, 'too_many_requests', 'You have exceeded the rate limit.', { retryAfter: 1 }));
    const handle = generate(prompt);
    const message = await resultOf(prompt);

    const submits = submitsOf(prompt);
    expect(submits.map((s) => s.status)).toEqual([429, 200]);
    expect(submits[1]!.timeMs - submits[0]!.timeMs).toBeGreaterThanOrEqual(990);
    expect(tasksOf(prompt)).toHaveLength(1);
    expect(message.attachments).toHaveLength(1);
    expect(messagesFor(prompt)).toHaveLength(1);
    expect(replyHistory(handle).some((c) => /Queued .*provider is busy/.test(c))).toBe(true);
    expectBotAlive();
  });

  describe('a submit that may have reached the API fails clearly and is never sent again', () => {
    const cases: { name: string; fault: EmulatorFault; code: string; accepted: boolean }[] = [
      { name: '500 api error', fault: apiErrorFault(500, 'api_error', 'Internal error.'), code: 'api_error', accepted: false },
      { name: 'a timeout', fault: { kind: 'delay', delayMs: REQUEST_TIMEOUT_MS + 1_000 }, code: 'timeout', accepted: true },
      {
        name: 'a connection dropped after the API took it',
        fault: { kind: 'drop', afterProcessing: true },
        code: 'network_error',
        accepted: true,
      },
    ];
    for (const { name, fault, code, accepted } of cases) {
      it(`submit answered with ${name}`, async () => {
        const prompt = `submit fault: ${name}`;
        failedSubmitPrompts.push(prompt);
        world.ace.failNext('/sora/videos', fault);
        const handle = generate(prompt);
        const message = await resultOf(prompt);

        expect(message.content).toBe(`<@${MEMBER_ID}> your video could not be made.`);
        expect(message.attachments).toHaveLength(0);
        // Rendered as inert markdown: `network\_error`.
        const reason = (message.embeds[0]?.fields?.find((f) => f.name === 'Reason')?.value ?? '').replaceAll('\\', '');
        expect(reason).toContain(`did not confirm the request (${code})`);
        expect(reason).toContain('not sent again');
        await handle.waitForOriginal((m) => m.content.includes('The generation failed'), WAIT_MS);

        expect(submitsOf(prompt)).toHaveLength(1);
        // Where the emulator did create the task (a delayed request is processed late), it is the only one.
        if (accepted) await until(() => tasksOf(prompt).length > 0, 'the late task');
        expect(tasksOf(prompt)).toHaveLength(accepted ? 1 : 0);
        expect(messagesFor(prompt)).toHaveLength(1);
        expectBotAlive();
      });
    }
  });

  it('401 invalid_token on submit: the member is told the account needs attention; no submit until the cool-down', async () => {
    const prompt = 'submit fault: 401 invalid token';
    world.ace.failNext('/sora/videos', apiErrorFault(401, 'invalid_token', 'The specified token is invalid or wrong.'));
    const handle = generate(prompt);
    await handle.waitForOriginal((m) => ACCOUNT_PROBLEM.test(m.content), WAIT_MS);
    const message = await resultOf(prompt);

    const submits = submitsOf(prompt);
    expect(submits.map((s) => s.status)).toEqual([401, 200]);
    expect(submits[1]!.timeMs - submits[0]!.timeMs).toBeGreaterThanOrEqual(COOLDOWN_MS - 20);
    expect(message.attachments).toHaveLength(1);
    expect(messagesFor(prompt)).toHaveLength(1);
    expect(tasksOf(prompt)).toHaveLength(1);
  });

  it('403 used_up on submit: submits stop, later commands wait in the queue, and all are delivered once the account is fixed', async () => {
    const first = 'submit fault: 403 used up (first)';
    const second = 'submit fault: 403 used up (queued behind it)';
    const submitsBefore = world.ace.requestsTo('/sora/videos').length;
    world.ace.setAccountState('used_up');
    const firstHandle = generate(first);
    const refused = await until(() => submitsOf(first).find((s) => s.status === 403), 'the refused submit');
    await firstHandle.waitForOriginal((m) => ACCOUNT_PROBLEM.test(m.content), WAIT_MS);

    // While submits are stopped a new command is accepted, kept in the queue, and told why.
    const secondHandle = generate(second);
    await secondHandle.waitForOriginal((m) => ACCOUNT_PROBLEM.test(m.content), WAIT_MS);
    world.ace.setAccountState('ok');

    const [firstMessage, secondMessage] = await Promise.all([resultOf(first), resultOf(second)]);
    expect(firstMessage.attachments).toHaveLength(1);
    expect(secondMessage.attachments).toHaveLength(1);

    const later = world.ace
      .requestsTo('/sora/videos')
      .slice(submitsBefore)
      .filter((s) => s !== refused);
    // Nothing was sent during the cool-down (submits after a slow test machine's second refusal are later still).
    for (const submit of later) expect(submit.timeMs - refused.timeMs).toBeGreaterThanOrEqual(COOLDOWN_MS - 20);
    for (const prompt of [first, second]) {
      expect(submitsOf(prompt).filter((s) => s.status === 200)).toHaveLength(1);
      expect(submitsOf(prompt).every((s) => s.status === 200 || s.status === 403)).toBe(true);
      expect(tasksOf(prompt)).toHaveLength(1);
      expect(messagesFor(prompt)).toHaveLength(1);
    }
    expectBotAlive();
  });

  it(`more commands than MAX_ACTIVE_GENERATIONS: never more than ${MAX_ACTIVE} running, all delivered exactly once`, async () => {
    world.ace.setGenerationTimeMs(600);
    const prompts = Array.from({ length: 8 }, (_, i) => `crowd job ${i + 1}`);
    const handles = prompts.map((prompt) => generate(prompt));
    await Promise.all(handles.map((handle) => handle.waitForAck(WAIT_MS)));
    const messages = await Promise.all(prompts.map((prompt) => resultOf(prompt, 40_000)));

    expect(world.ace.stats().maxRunning).toBeLessThanOrEqual(MAX_ACTIVE);
    // The same from the crowd's own task intervals: the cap was reached, never exceeded.
    const crowd = prompts.map((prompt) => {
      const tasks = tasksOf(prompt);
      expect(tasks).toHaveLength(1);
      return tasks[0]!;
    });
    const events = crowd.flatMap((t) => [
      { atMs: t.submittedAtMs, delta: 1 },
      { atMs: t.finishedAtMs!, delta: -1 },
    ]);
    events.sort((a, b) => a.atMs - b.atMs || a.delta - b.delta);
    let running = 0;
    let peak = 0;
    for (const event of events) {
      running += event.delta;
      peak = Math.max(peak, running);
    }
    expect(peak).toBe(MAX_ACTIVE);

    for (const [index, prompt] of prompts.entries()) {
      expect(messages[index]!.attachments).toHaveLength(1);
      expect(messagesFor(prompt)).toHaveLength(1);
      expect(submitsOf(prompt).map((s) => s.status)).toEqual([200]);
    }
    expectBotAlive();
  });

  it('never resubmitted a submit that failed uncertainly', () => {
    expect(failedSubmitPrompts).toHaveLength(3);
    for (const prompt of failedSubmitPrompts) expect(submitsOf(prompt)).toHaveLength(1);
    expectBotAlive();
  });
});
