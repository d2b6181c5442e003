import type { APIEmbed } from 'discord.js';
import { describe, expect, it } from 'vitest';
import {
  cutToFit,
  ephemeralReplyOptions,
  renderProgress,
  renderResultMessage,
  renderShowcaseMessage,
  renderStatus,
  truncate,
} from '../../src/discord/render.js';
import { trickyPrompt, ZWJ_FAMILY } from '../fakes/tricky-prompt.js';
import { makeTask } from './rest-stub.js';

const VIDEO_URL = 'https://files.example.invalid/sora/f1e2d3c4.mp4?expires=1735776000';
const OTHERS = { userId: '300000000000000009', roleId: '300000000000000008', channelId: '300000000000000007' };
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const graphemes = (text: string) => [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(text)].map((s) => s.segment);

/** Discord's limits, counted in UTF-16 units (stricter than code points, so safe either way). */
function expectWithinLimits(body: { content?: string; embeds?: APIEmbed[] }): void {
  expect(body.content?.length ?? 0).toBeLessThanOrEqual(2000);
  for (const embed of body.embeds ?? []) {
    const fields = embed.fields ?? [];
    expect(embed.title?.length ?? 0).toBeLessThanOrEqual(256);
    expect(embed.description?.length ?? 0).toBeLessThanOrEqual(4096);
    expect(embed.footer?.text.length ?? 0).toBeLessThanOrEqual(2048);
    for (const field of fields) {
      expect(field.name.length).toBeLessThanOrEqual(256);
      expect(field.value.length).toBeLessThanOrEqual(1024);
    }
    const total =
      (embed.title?.length ?? 0) +
      (embed.description?.length ?? 0) +
      (embed.footer?.text.length ?? 0) +
      fields.reduce((sum, f) => sum + f.name.length + f.value.length, 0);
    expect(total).toBeLessThanOrEqual(6000);
  }
  expect(LONE_SURROGATE.test(JSON.stringify(body))).toBe(false);
}

/** The prompt as shown: no live mention, every markdown marker escaped, cut between graphemes. */
function expectInert(description: string): void {
  // A channel mention <#id> may stay: it links, it pings nobody.
  expect(description).not.toMatch(/@everyone|@here|<@[!&]?\d/u);
  expect(description).not.toMatch(/(?<!\\)[*_~`|[\]]/);
  if (description.endsWith('…')) {
    const kept = description.slice(0, -1);
    // The last grapheme before the ellipsis is a whole one from the prompt (no dangling joiner).
    expect(kept.endsWith('\u200D')).toBe(false);
    expect(graphemes(kept).at(-1)).not.toMatch(/^[\u{1F1E6}-\u{1F1FF}]$/u);
  }
}

/** Undoes safeText (the backslashes and the zero-width spaces after `@`). */
const unescape = (text: string) => text.replace(/\\(.)/gu, '$1').replaceAll('@\u200b', '@');

describe.each([
  // The default limit: the escaped prompt fits the 4096 description whole.
  [2000, 'whole'],
  // PROMPT_MAX_CHARS at its maximum (a modal's 4000): escaping makes it far longer than 4096.
  [4000, 'cut'],
] as const)('render: a member-made prompt of %i code points stays within Discord limits and inert', (codePoints, shown) => {
  const prompt = trickyPrompt(codePoints, OTHERS);

  it('the tricky prompt is what a member can send (that many code points, more UTF-16 units)', () => {
    expect([...prompt]).toHaveLength(codePoints);
    expect(prompt.length).toBeGreaterThan(codePoints);
    expect(prompt).toContain(ZWJ_FAMILY);
  });

  it.each([
    ['uploaded video', { kind: 'succeeded', videoUrl: VIDEO_URL } as const, { mode: 'upload' } as const],
    ['linked video', { kind: 'succeeded', videoUrl: VIDEO_URL } as const, { mode: 'link', reason: 'too_large' } as const],
    ['failure', { kind: 'failed', code: 'api_error', message: `${prompt} @everyone` } as const, { mode: 'link' } as const],
  ])(`the result message (%s) pings only the member and shows the prompt ${shown}`, (_name, outcome, delivery) => {
    const task = makeTask({ request: { ...makeTask().request, prompt }, outcome });
    const body = renderResultMessage(task, delivery);
    expectWithinLimits(body);
    expect(body.allowed_mentions).toEqual({ parse: [], users: [task.userId] });
    const embed = body.embeds![0]!;
    const description = embed.description!;
    expectInert(description);
    for (const field of embed.fields ?? []) expect(field.value).not.toMatch(/@everyone|@here/);
    if (shown === 'whole') {
      expect(unescape(description)).toBe(prompt);
    } else {
      expect(description.endsWith('…')).toBe(true);
      expect(prompt.startsWith(unescape(description.slice(0, -1)))).toBe(true);
      // Most of the room is used.
      expect(description.length).toBeGreaterThan(3000);
    }
  });

  it('the private progress reply and the status answer', () => {
    const task = makeTask({ request: { ...makeTask().request, prompt }, state: 'submitted', outcome: undefined });
    const progress = renderProgress({ kind: 'generating', elapsedMs: 65_000 }, task, new Date('2025-01-01T12:02:00Z'));
    expectWithinLimits(progress);
    expect(progress.allowed_mentions).toEqual({ parse: [] });
    expectInert(progress.embeds[0]!.description!);
    const status = renderStatus(task, new Date('2025-01-01T12:02:00Z'));
    expectWithinLimits(status);
    expectInert(status.embeds[0]!.description!);
  });

  it('the showcase post credits the member without pinging anyone', () => {
    const task = makeTask({
      request: { ...makeTask().request, prompt },
      state: 'delivered',
      resultMessageId: '300000000000000010',
      outcome: { kind: 'succeeded', videoUrl: VIDEO_URL },
    });
    for (const mode of ['upload', 'link'] as const) {
      const body = renderShowcaseMessage(task, VIDEO_URL, mode);
      expectWithinLimits(body);
      expect(body.allowed_mentions).toEqual({ parse: [] });
      expectInert(body.embeds![0]!.description!);
    }
  });
});

describe('truncate and cutToFit cut between graphemes', () => {
  it('drops a ZWJ sequence, a flag or an accented letter whole rather than breaking it', () => {
    expect(truncate(`ab${ZWJ_FAMILY}cd`, 8)).toBe('ab…');
    expect(truncate(`ab${ZWJ_FAMILY}cd`, 14)).toBe(`ab${ZWJ_FAMILY}…`);
    expect(truncate('🇯🇵🇫🇷', 7)).toBe('🇯🇵…');
    // "e" + combining acute: cutting after the "e" would show a different letter.
    expect(truncate('cafe\u0301s', 5)).toBe('caf…');
    expect(truncate('ab🦊cd', 4)).toBe('ab…');
  });

  it('cutToFit keeps the longest start within the limit, with no ellipsis', () => {
    expect(cutToFit('abc', 10)).toBe('abc');
    expect(cutToFit(`x${ZWJ_FAMILY}`, 6)).toBe('x');
    expect(cutToFit('🎬'.repeat(3000), 4001)).toBe('🎬'.repeat(2000));
    const prompt = trickyPrompt(4000, OTHERS);
    const cut = cutToFit(prompt, 4000);
    expect(cut.length).toBeLessThanOrEqual(4000);
    expect(cut.length).toBeGreaterThan(3980);
    expect(prompt.startsWith(cut)).toBe(true);
    expect(LONE_SURROGATE.test(cut)).toBe(false);
    expect(graphemes(prompt).slice(0, graphemes(cut).length).join('')).toBe(cut);
  });

  it('a single grapheme longer than the room is cut by code point, not dropped', () => {
    const zalgo = `a${'\u0301'.repeat(50)}`;
    expect(truncate(zalgo, 11)).toBe(`${zalgo.slice(0, 10)}…`);
  });
});

describe('ephemeralReplyOptions', () => {
  it('hands discord.js the ping restriction under the name it reads (allowedMentions)', () => {
    const task = makeTask({ state: 'submitted', outcome: undefined });
    const body = renderProgress({ kind: 'generating', elapsedMs: 5_000 }, task, new Date('2025-01-01T12:02:00Z'));
    const options = ephemeralReplyOptions(body);
    expect(options).toEqual({ content: body.content, embeds: body.embeds, components: body.components, allowedMentions: { parse: [] } });
    expect(options).not.toHaveProperty('allowed_mentions');
    const status = ephemeralReplyOptions(renderStatus(task, new Date('2025-01-01T12:02:00Z')));
    expect(status).not.toHaveProperty('components');
    expect(status.allowedMentions).toEqual({ parse: [] });
  });
});
