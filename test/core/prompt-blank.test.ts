import { describe, expect, it } from 'vitest';
import { isBlankPrompt, preflightGenerate, trimPrompt, type PreflightRules } from '../../src/core/preflight.js';
import { MODEL_IDS } from '../../src/core/models/catalogue.js';

// Characters that show nothing on their own, by name (code points spelled out: they are invisible).
const INVISIBLE: ReadonlyArray<[string, string]> = [
  ['zero-width space', '\u200B'],
  ['zero-width non-joiner', '\u200C'],
  ['zero-width joiner', '\u200D'],
  ['left-to-right mark', '\u200E'],
  ['word joiner', '\u2060'],
  ['byte order mark', '\uFEFF'],
  ['no-break space', '\u00A0'],
  ['narrow no-break space', '\u202F'],
  ['ideographic space', '\u3000'],
  ['em space', '\u2003'],
  ['soft hyphen', '\u00AD'],
  ['Mongolian vowel separator', '\u180E'],
  ['Hangul filler', '\u3164'],
  ['braille blank', '\u2800'],
  ['combining grapheme joiner', '\u034F'],
  ['right-to-left isolate', '\u2067'],
  ['line separator', '\u2028'],
];

const ZWJ_FAMILY = '👩\u200D👩\u200D👧\u200D👦';
const RAINBOW_FLAG = '🏳\uFE0F\u200D🌈';

describe('isBlankPrompt', () => {
  it.each(INVISIBLE)('a prompt of only %s (and spaces) is blank', (_name, char) => {
    expect(isBlankPrompt(char)).toBe(true);
    expect(isBlankPrompt(`  ${char.repeat(3)} \n`)).toBe(true);
  });

  it('all of them mixed, a lone combining mark, variation selectors and Unicode tags are blank', () => {
    expect(isBlankPrompt(INVISIBLE.map(([, c]) => c).join(''))).toBe(true);
    // A combining acute accent with nothing to sit on, a variation selector, tag characters.
    expect(isBlankPrompt('\u0301')).toBe(true);
    expect(isBlankPrompt(' \u0301\u0308 ')).toBe(true);
    expect(isBlankPrompt('\uFE0F')).toBe(true);
    expect(isBlankPrompt('\u{E0061}\u{E0062}')).toBe(true);
    expect(isBlankPrompt('')).toBe(true);
  });

  it('anything visible is not blank: a letter, a CJK character, an emoji, a ZWJ sequence, punctuation', () => {
    for (const visible of ['a', '猫', '🎬', ZWJ_FAMILY, RAINBOW_FLAG, '.', '\u200Bx\u200B', 'e\u0301', '❤\uFE0F', '1\uFE0F\u20E3']) {
      expect(isBlankPrompt(visible), JSON.stringify(visible)).toBe(false);
    }
  });
});

describe('trimPrompt', () => {
  it('cuts blank and invisible characters from both ends', () => {
    const edge = INVISIBLE.map(([, c]) => c).join('');
    expect(trimPrompt(`${edge} a red kite ${edge}`)).toBe('a red kite');
    expect(trimPrompt('\uFEFF\u3000猫が走る\u00A0\u200B')).toBe('猫が走る');
  });

  it('keeps what is inside as typed: a ZWJ emoji sequence, a ZWNJ in Persian, inner spaces', () => {
    const prompt = `a family ${ZWJ_FAMILY} under a ${RAINBOW_FLAG} flag`;
    expect(trimPrompt(` ${prompt}\u200B`)).toBe(prompt);
    expect(trimPrompt('می\u200Cخواهم')).toBe('می\u200Cخواهم');
    expect(trimPrompt('two  spaces\u00A0and a\u200Bzero-width')).toBe('two  spaces\u00A0and a\u200Bzero-width');
  });

  it('keeps an emoji sequence that ends the prompt whole (its joiners and selectors are part of it)', () => {
    expect(trimPrompt(`a dance ${ZWJ_FAMILY}`)).toBe(`a dance ${ZWJ_FAMILY}`);
    expect(trimPrompt('love ❤\uFE0F ')).toBe('love ❤\uFE0F');
    expect(trimPrompt('number 1\uFE0F\u20E3\u200B')).toBe('number 1\uFE0F\u20E3');
    // A combining mark after a letter stays with it.
    expect(trimPrompt('café\u0301 ')).toBe('café\u0301');
  });

  it('returns the same string when there is nothing to cut', () => {
    const prompt = `a cat ${ZWJ_FAMILY}`;
    expect(trimPrompt(prompt)).toBe(prompt);
  });

  it('handles a very long blank run in linear time (a backtracking regex would take minutes here)', () => {
    // 400 000 code points each side: a quadratic trim would run past the test's timeout by far.
    const run = ' \u200B\u3000\uFEFF'.repeat(100_000);
    expect(trimPrompt(`${run}x${run}`)).toBe('x');
    expect(trimPrompt(run)).toBe('');
    expect(isBlankPrompt(run)).toBe(true);
    expect(isBlankPrompt(`${run}x`)).toBe(false);
  }, 5_000);
});

describe('preflightGenerate with an invisible prompt', () => {
  const rules: PreflightRules = {
    allowedGuildIds: undefined,
    promptMaxChars: 2000,
    imageMaxBytes: 25 * 1024 * 1024,
    defaults: { model: 'sora-2', duration: 15, orientation: 'portrait', size: 'small' },
    offeredModelIds: MODEL_IDS,
  };
  const run = (prompt: string) =>
    preflightGenerate(
      {
        guildId: 'guild-1',
        channelIsThread: false,
        botPermissions: new Set(['ViewChannel', 'SendMessages', 'EmbedLinks', 'AttachFiles', 'ReadMessageHistory']),
        prompt,
      },
      rules,
    );

  it('refuses it as empty, and sends a visible one trimmed with its inside intact', () => {
    for (const prompt of ['\u200B\u2060\uFEFF', '\u00A0\u3000', '\u0301', '\u3164\u2800']) {
      const result = run(prompt);
      expect(result.ok, JSON.stringify(prompt)).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('PROMPT_EMPTY');
    }
    const sent = run(`\u200B a family ${ZWJ_FAMILY} \uFEFF`);
    expect(sent.ok && sent.request.prompt).toBe(`a family ${ZWJ_FAMILY}`);
  });

  it('counts the limit after trimming: a prompt at the limit with invisible padding is accepted', () => {
    const atLimit = '猫'.repeat(2000);
    expect(run(`\u200B\u3000${atLimit}\uFEFF`).ok).toBe(true);
  });
});
