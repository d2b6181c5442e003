import { describe, it, expect } from 'vitest';
import type { APIEmbed } from 'discord.js';
import type { ProgressView } from '../../src/core/ports.js';
import {
  formatElapsed,
  parseResultFooter,
  renderProgress,
  renderResultMessage,
  renderStatus,
  resultNonce,
  safeText,
  truncate,
} from '../../src/discord/render.js';
import { makeTask } from './rest-stub.js';

const VIDEO_URL = 'https://files.example.invalid/sora/f1e2d3c4.mp4?expires=1735776000';

function embedTotal(embed: APIEmbed): number {
  return (
    (embed.title?.length ?? 0) +
    (embed.description?.length ?? 0) +
    (embed.footer?.text.length ?? 0) +
    (embed.author?.name.length ?? 0) +
    (embed.fields ?? []).reduce((sum, f) => sum + f.name.length + f.value.length, 0)
  );
}

function expectWithinLimits(body: { content?: string; embeds?: APIEmbed[] }): void {
  expect(body.content?.length ?? 0).toBeLessThanOrEqual(2000);
  for (const embed of body.embeds ?? []) {
    expect(embed.title?.length ?? 0).toBeLessThanOrEqual(256);
    expect(embed.description?.length ?? 0).toBeLessThanOrEqual(4096);
    expect(embed.footer?.text.length ?? 0).toBeLessThanOrEqual(2048);
    for (const field of embed.fields ?? []) {
      expect(field.name.length).toBeLessThanOrEqual(256);
      expect(field.value.length).toBeLessThanOrEqual(1024);
    }
    expect(embedTotal(embed)).toBeLessThanOrEqual(6000);
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('renderResultMessage', () => {
  const succeeded = makeTask({ outcome: { kind: 'succeeded', videoUrl: VIDEO_URL } });

  it('pings only the member and carries the nonce, footer id and options', () => {
    const body = renderResultMessage(succeeded, { mode: 'upload' });
    expect(body.content?.startsWith(`<@${succeeded.userId}>`)).toBe(true);
    expect(body.allowed_mentions).toEqual({ parse: [], users: [succeeded.userId] });
    expect(body.nonce).toBe(succeeded.id);
    expect(body.enforce_nonce).toBe(true);
    expect(body.attachments).toEqual([{ id: 0, filename: `sora-${succeeded.id}.mp4` }]);
    const embed = body.embeds![0]!;
    expect(body.embeds).toHaveLength(1);
    expect(embed.footer?.text).toContain(`Task ${succeeded.id}`);
    expect(embed.footer?.text).toContain(succeeded.providerTaskId);
    expect(parseResultFooter(embed.footer?.text)).toEqual({ taskId: succeeded.id, marker: 'video' });
    expect(embed.description).toBe('A red fox running through snow');
    const fields = Object.fromEntries((embed.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields).toMatchObject({ Model: 'sora-2', Duration: '10 s', Orientation: 'landscape', Size: 'small', Image: 'no' });
    expect(JSON.stringify(body)).not.toContain(VIDEO_URL);
  });

  it('says "image: yes" when a reference image was used', () => {
    const task = makeTask({
      outcome: { kind: 'succeeded', videoUrl: VIDEO_URL },
      request: { ...succeeded.request, imageUrl: 'https://cdn.example.invalid/ref.png' },
    });
    const image = renderResultMessage(task, { mode: 'upload' }).embeds![0]!.fields!.find((f) => f.name === 'Image');
    expect(image?.value).toBe('yes');
  });

  it('cannot ping @everyone, roles or other members from the prompt', () => {
    const task = makeTask({
      outcome: { kind: 'succeeded', videoUrl: VIDEO_URL },
      request: { ...succeeded.request, prompt: '@everyone @here <@&400000000000000001> <@400000000000000002> hi' },
    });
    const body = renderResultMessage(task, { mode: 'link' });
    const text = JSON.stringify(body);
    expect(text).not.toMatch(/@everyone|@here|<@&\d+>|<@!?4\d+>/);
    expect(body.allowed_mentions?.parse).toEqual([]);
    expect(body.allowed_mentions?.users).toEqual([task.userId]);
    expect(body.embeds![0]!.description).toContain('everyone');
  });

  it('keeps a 4000-character prompt within every Discord limit', () => {
    const prompt = `${'*_~'.repeat(1300)}🦊🦊🦊${'x'.repeat(200)}`;
    expect(prompt.length).toBeGreaterThanOrEqual(4000);
    const failed = makeTask({
      request: { ...succeeded.request, prompt },
      outcome: { kind: 'failed', code: 'api_error', message: 'reason '.repeat(800) },
    });
    for (const task of [makeTask({ ...succeeded, request: { ...succeeded.request, prompt } }), failed]) {
      const body = renderResultMessage(task, { mode: 'link', reason: 'too_large' });
      expectWithinLimits(body);
      const description = body.embeds![0]!.description!;
      expect(description.endsWith('…')).toBe(true);
      expect(description.length).toBeGreaterThan(1000);
      expect(LONE_SURROGATE.test(JSON.stringify(body.embeds))).toBe(false);
    }
  });

  it('uses the whole 4096 description for a long plain prompt', () => {
    const task = makeTask({ ...succeeded, request: { ...succeeded.request, prompt: 'y'.repeat(5000) } });
    const body = renderResultMessage(task, { mode: 'upload' });
    expect(body.embeds![0]!.description).toHaveLength(4096);
    expectWithinLimits(body);
  });

  it('links the video when it is not uploaded, with the expiry note and the reason', () => {
    const body = renderResultMessage(succeeded, { mode: 'link', reason: 'too_large' });
    expect(body.content).toBe(`<@${succeeded.userId}> your video is ready: ${VIDEO_URL}`);
    expect(body.attachments).toBeUndefined();
    const embed = body.embeds![0]!;
    expect(embed.url).toBe(VIDEO_URL);
    const video = embed.fields!.find((f) => f.name === 'Video')!.value;
    expect(video).toContain(`[Open the video](${VIDEO_URL})`);
    expect(video).toContain('30 days');
    expect(video).toContain('10 MiB');
    expect(body.nonce).toBe(succeeded.id);
  });

  it('shows the API reason for a failure and says it is not billed', () => {
    const task = makeTask({
      outcome: { kind: 'failed', code: 'content_policy', message: 'Prompt rejected by moderation @everyone' },
    });
    const body = renderResultMessage(task, { mode: 'link' });
    const reason = body.embeds![0]!.fields!.find((f) => f.name === 'Reason')!.value;
    expect(reason).toContain('Prompt rejected by moderation');
    expect(reason).not.toContain('@everyone');
    expect(reason).toMatch(/not billed/);
    expect(parseResultFooter(body.embeds![0]!.footer?.text)?.marker).toBe('failed');
    expect(body.nonce).toBe(task.id);
  });

  it('gives the timeout notice its own nonce and says the bot keeps checking', () => {
    const task = makeTask({
      outcome: { kind: 'timed_out' },
      submittedAt: '2025-01-01T12:00:00.000Z',
      finishedAt: '2025-01-01T12:30:00.000Z',
    });
    const body = renderResultMessage(task, { mode: 'link' });
    expect(body.nonce).toBe(`${task.id}-t`);
    const text = JSON.stringify(body.embeds);
    expect(text).toContain('Still generating after 30 minutes');
    expect(text).toContain('24 h');
    expect(parseResultFooter(body.embeds![0]!.footer?.text)).toEqual({ taskId: task.id, marker: 'still generating' });
  });

  it('tells an interrupted member it was not resubmitted', () => {
    const body = renderResultMessage(makeTask({ outcome: { kind: 'interrupted' } }), { mode: 'link' });
    const text = JSON.stringify(body.embeds);
    expect(text).toContain('not resubmitted to avoid paying twice');
    expect(text).toContain('/sora generate');
    expect(body.content?.startsWith('<@')).toBe(true);
  });

  it('keeps every nonce within 25 characters', () => {
    const id = 'a'.repeat(25);
    expect(resultNonce({ id }, 'timed_out').length).toBeLessThanOrEqual(25);
    expect(resultNonce({ id }, 'timed_out')).not.toBe(resultNonce({ id }, 'succeeded'));
    expect(resultNonce({ id }, 'succeeded')).toBe(id);
  });
});

describe('parseResultFooter', () => {
  it('reads back our own footers only, without prefix confusion', () => {
    expect(parseResultFooter('Task abc · video · Ace Data Cloud task x')).toEqual({ taskId: 'abc', marker: 'video' });
    expect(parseResultFooter('Task abcd · video')?.taskId).toBe('abcd');
    expect(parseResultFooter('Task abc')).toBeUndefined();
    expect(parseResultFooter('Some other bot · Task abc · video')).toBeUndefined();
    expect(parseResultFooter(undefined)).toBeUndefined();
  });
});

describe('renderProgress', () => {
  const now = new Date('2025-01-01T12:02:05.000Z');
  const task = makeTask({ state: 'submitted', createdAt: '2025-01-01T12:00:00.000Z' });

  it.each<[ProgressView, RegExp]>([
    [{ kind: 'queued', position: 3, providerBusy: false }, /position 3, waiting 2:05/],
    [{ kind: 'queued', position: 1, providerBusy: true }, /provider is busy/],
    [{ kind: 'generating', elapsedMs: 125_000 }, /Generating… 2:05 elapsed/],
    [{ kind: 'account_problem' }, /account needs attention \(admins have been told\); your request is kept in the queue/],
    [
      { kind: 'failed', reason: { code: 'not_posted', params: { channelId: '123', reason: 'Missing Access' } } },
      /Failed: I could not post the result in <#123>: Missing Access/,
    ],
  ])('renders %j', (view, pattern) => {
    const body = renderProgress(view, task, now);
    expect(body.content).toMatch(pattern);
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.embeds[0]!.footer?.text).toBe(`Task ${task.id}`);
    expectWithinLimits(body);
  });

  it('shows the start and ready estimates as Discord relative timestamps, never in the past', () => {
    const unix = (ms: number) => Math.ceil(ms / 1000);
    const start = now.getTime() + 180_000;
    const ready = start + 300_000;
    const both = renderProgress(
      { kind: 'queued', position: 3, providerBusy: false, eta: { startAtMs: start, readyAtMs: ready } },
      task,
      now,
    );
    expect(both.content).toContain(`Estimated start: <t:${unix(start)}:R>, ready <t:${unix(ready)}:R>.`);
    const startOnly = renderProgress(
      { kind: 'queued', position: 3, providerBusy: false, eta: { startAtMs: start, readyAtMs: undefined } },
      task,
      now,
    );
    expect(startOnly.content).toContain(`Estimated start: <t:${unix(start)}:R>.`);
    const overdue = renderProgress(
      { kind: 'queued', position: 1, providerBusy: false, eta: { startAtMs: now.getTime() - 9_000, readyAtMs: undefined } },
      task,
      now,
    );
    expect(overdue.content).toContain(`<t:${unix(now.getTime())}:R>`);
    expect(renderProgress({ kind: 'queued', position: 3, providerBusy: false }, task, now).content).not.toContain('<t:');

    const ja = makeTask({ ...task, memberLocale: 'ja' });
    expect(
      renderProgress({ kind: 'queued', position: 3, providerBusy: false, eta: { startAtMs: start, readyAtMs: ready } }, ja, now).content,
    ).toContain(`開始見込み <t:${unix(start)}:R>`);
  });

  it('says when a generation should be ready, but not once it is past that time', () => {
    const readyAtMs = now.getTime() + 90_000;
    expect(renderProgress({ kind: 'generating', elapsedMs: 60_000, readyAtMs }, task, now).content).toContain(
      `Estimated ready <t:${Math.ceil(readyAtMs / 1000)}:R>.`,
    );
    const late = renderProgress({ kind: 'generating', elapsedMs: 60_000, readyAtMs: now.getTime() - 1 }, task, now);
    expect(late.content).not.toContain('<t:');
    expect(renderProgress({ kind: 'generating', elapsedMs: 60_000 }, task, now).content).not.toContain('<t:');
  });

  it('does not say "busy" when the provider is not', () => {
    expect(renderProgress({ kind: 'queued', position: 2, providerBusy: false }, task, now).content).not.toMatch(/busy/);
  });

  it('points to the channel and the message when finished', () => {
    const done = makeTask({
      state: 'delivered',
      outcome: { kind: 'succeeded', videoUrl: VIDEO_URL },
      resultMessageId: '500000000000000001',
    });
    const body = renderProgress({ kind: 'finished' }, done, now);
    expect(body.content).toContain(`done — posted in <#${done.channelId}>`.replace('done', 'Done'));
    expect(body.content).toContain(`https://discord.com/channels/${done.guildId}/${done.channelId}/500000000000000001`);
  });

  it('words "finished" after its outcome: a failure is not "done", a timeout notice is not the video', () => {
    const failed = makeTask({ outcome: { kind: 'failed', code: 'api_error', message: 'upstream broke' } });
    expect(renderProgress({ kind: 'finished' }, failed, now).content).toMatch(/failed: upstream broke/);
    const timedOut = makeTask({ state: 'timed_out', outcome: { kind: 'timed_out' } });
    expect(renderProgress({ kind: 'finished' }, timedOut, now).content).toMatch(/Still generating/);
  });

  it('keeps a long failure message within 2000 characters and inert', () => {
    const body = renderProgress(
      { kind: 'failed', reason: { code: 'not_posted', params: { channelId: '1', reason: '@everyone '.repeat(500) } } },
      task,
      now,
    );
    expectWithinLimits(body);
    expect(body.content).not.toContain('@everyone');
  });
});

describe('renderStatus', () => {
  const now = new Date('2025-01-01T12:10:00.000Z');

  it('shows a delivered task with its video and jump links', () => {
    const task = makeTask({
      state: 'delivered',
      outcome: { kind: 'succeeded', videoUrl: VIDEO_URL },
      resultMessageId: '500000000000000002',
    });
    const body = renderStatus(task, now);
    const text = JSON.stringify(body);
    expect(body.content).toContain('Delivered');
    expect(text).toContain(`https://discord.com/channels/${task.guildId}/${task.channelId}/500000000000000002`);
    expect(text).toContain(VIDEO_URL);
    // Took: createdAt 12:00:00 → finishedAt 12:03:00.
    expect(body.embeds[0]!.fields!.find((f) => f.name === 'Took')?.value).toBe('3:00');
    expectWithinLimits(body);
  });

  it('shows the queue position and the running time of a queued task', () => {
    const task = makeTask({ state: 'queued', submittedAt: undefined, finishedAt: undefined, providerTaskId: undefined });
    const body = renderStatus(task, now, 4);
    expect(body.content).toContain('position 4');
    expect(body.embeds[0]!.fields!.find((f) => f.name === 'Elapsed')?.value).toBe('10:00');
  });

  it('shows a generating task with the provider id and generation time', () => {
    const task = makeTask({ state: 'submitted', finishedAt: undefined });
    const fields = renderStatus(task, now).embeds[0]!.fields!;
    expect(fields.find((f) => f.name === 'Generating for')?.value).toBe('9:55');
    expect(fields.find((f) => f.name === 'Ace Data Cloud task')?.value).toBe(task.providerTaskId);
  });

  it('shows the reason of a failure', () => {
    const task = makeTask({ state: 'delivered', outcome: { kind: 'failed', code: 'x', message: 'bad prompt' } });
    expect(JSON.stringify(renderStatus(task, now))).toContain('bad prompt');
  });
});

describe('helpers', () => {
  it('formats elapsed time as m:ss and h:mm:ss', () => {
    expect(formatElapsed(0)).toBe('0:00');
    expect(formatElapsed(65_432)).toBe('1:05');
    expect(formatElapsed(3_725_000)).toBe('1:02:05');
  });

  it('truncates without splitting surrogate pairs', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('ab🦊cd', 4)).toBe('ab…');
    expect(truncate('abc', 3)).toBe('abc');
  });

  it('escapes markdown and masked links', () => {
    const shown = safeText('**bold** [x](https://evil.example)');
    expect(shown).not.toMatch(/(?<!\\)\*\*bold/);
    expect(shown).not.toMatch(/(?<!\\)\[x\]\(/);
  });
});

describe('a waiting task ended because its result could not be posted', () => {
  const now = new Date('2025-01-01T12:01:00.000Z');
  const blocked = (reason: 'guild_gone' | 'channel_gone' | 'missing_permissions', memberLocale?: string) =>
    makeTask({
      state: 'cancelled',
      outcome: { kind: 'failed', code: 'delivery_blocked', message: 'not sent' },
      undeliverableReason: reason,
      ...(memberLocale ? { memberLocale } : {}),
    });

  it('the reply says why, names the missing permissions and offers no button', () => {
    const task = blocked('missing_permissions');
    const body = renderProgress(
      { kind: 'delivery_blocked', reason: 'missing_permissions', permissions: ['AttachFiles', 'EmbedLinks'] },
      task,
      now,
    );
    expect(body.content).toContain(`\`${task.id}\` was not sent to Ace Data Cloud`);
    expect(body.content).toContain(`<#${task.channelId}>`);
    expect(body.content).toContain('missing: AttachFiles, EmbedLinks');
    expect(body.components).toEqual([]);
    expect(renderProgress({ kind: 'delivery_blocked', reason: 'channel_gone' }, blocked('channel_gone'), now).content).toMatch(
      /no longer exists/,
    );
    expect(renderProgress({ kind: 'delivery_blocked', reason: 'guild_gone' }, blocked('guild_gone'), now).content).toMatch(
      /no longer in this server/,
    );
  });

  it("in the member's language", () => {
    const body = renderProgress({ kind: 'delivery_blocked', reason: 'channel_gone' }, blocked('channel_gone', 'ja'), now);
    expect(body.content).toMatch(/送信されませんでした/);
  });

  it('/sora status gives the reason in words, not the stored code', () => {
    const body = renderStatus(blocked('channel_gone'), now);
    const fields = body.embeds[0]!.fields ?? [];
    expect(fields.map((f) => f.value)).toContain('not sent: the channel no longer exists');
  });
});
