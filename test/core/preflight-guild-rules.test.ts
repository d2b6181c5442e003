import { MODEL_IDS } from '../../src/core/models/catalogue.js';
import { describe, expect, it } from 'vitest';
import {
  containsBlockedWord,
  preflightGenerate,
  type BotPermission,
  type GenerateCommandInput,
  type PreflightResult,
  type PreflightRules,
} from '../../src/core/preflight.js';

const ALL_PERMISSIONS: BotPermission[] = [
  'ViewChannel',
  'SendMessages',
  'SendMessagesInThreads',
  'EmbedLinks',
  'AttachFiles',
  'ReadMessageHistory',
];

const base: PreflightRules = {
  allowedGuildIds: undefined,
  promptMaxChars: 2000,
  imageMaxBytes: 25 * 1024 * 1024,
  defaults: { model: 'sora-2', duration: 10, orientation: 'landscape', size: 'small' },
  offeredModelIds: MODEL_IDS,
};

function input(overrides: Partial<GenerateCommandInput> = {}): GenerateCommandInput {
  return {
    guildId: 'guild-1',
    channelId: 'chan-general',
    channelIsThread: false,
    botPermissions: new Set(ALL_PERMISSIONS),
    memberRoleIds: [],
    prompt: 'a cat surfing at sunset',
    ...overrides,
  };
}

function refusal(result: PreflightResult) {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.request)}`);
  return result.error;
}

function request(result: PreflightResult) {
  if (!result.ok) throw new Error(`expected a request, got ${result.error.code}: ${result.error.message}`);
  return result.request;
}

describe('preflight with guild settings', () => {
  describe('allowed channels', () => {
    const rules: PreflightRules = { ...base, allowedChannelIds: new Set(['chan-videos', 'chan-art']) };

    it('refuses another channel and names the allowed ones', () => {
      const error = refusal(preflightGenerate(input(), rules));
      expect(error.code).toBe('CHANNEL_NOT_ALLOWED');
      expect(error.message).toContain('<#chan-videos>');
      expect(error.message).toContain('<#chan-art>');
    });

    it('accepts an allowed channel and the threads under it', () => {
      expect(preflightGenerate(input({ channelId: 'chan-videos' }), rules).ok).toBe(true);
      const thread = input({ channelId: 'thread-1', parentChannelId: 'chan-art', channelIsThread: true });
      expect(preflightGenerate(thread, rules).ok).toBe(true);
    });

    it('fails closed when the channel is not known, and allows everywhere when the list is empty', () => {
      expect(refusal(preflightGenerate(input({ channelId: undefined }), rules)).code).toBe('CHANNEL_NOT_ALLOWED');
      expect(preflightGenerate(input(), { ...base, allowedChannelIds: new Set() }).ok).toBe(true);
    });
  });

  describe('blocked words', () => {
    const rules: PreflightRules = { ...base, blockedWords: ['血腥', 'gore', 'ｎｓｆｗ'] };

    it('finds a Chinese blocked word inside a longer Chinese prompt (no word boundaries)', () => {
      const error = refusal(preflightGenerate(input({ prompt: '一只猫在雪地里奔跑，画面非常血腥而且恐怖' }), rules));
      expect(error.code).toBe('PROMPT_BLOCKED');
      // The refusal does not echo the admins' list.
      for (const word of ['血腥', 'gore', 'nsfw', 'ｎｓｆｗ']) expect(error.message).not.toContain(word);
    });

    it('matches English case-insensitively, inside words, and full-width forms after NFKC', () => {
      expect(refusal(preflightGenerate(input({ prompt: 'A GoRe-soaked battlefield' }), rules)).code).toBe('PROMPT_BLOCKED');
      expect(refusal(preflightGenerate(input({ prompt: 'goreless? still contains it' }), rules)).code).toBe('PROMPT_BLOCKED');
      expect(refusal(preflightGenerate(input({ prompt: 'an NSFW scene' }), rules)).code).toBe('PROMPT_BLOCKED');
      expect(containsBlockedWord('ＧＯＲＥ', ['gore'])).toBe(true);
    });

    it('lets other prompts through, and ignores empty entries', () => {
      expect(request(preflightGenerate(input({ prompt: '一只猫在雪地里奔跑' }), rules)).prompt).toBe('一只猫在雪地里奔跑');
      expect(containsBlockedWord('anything', ['', '  '])).toBe(false);
    });
  });

  describe('pro roles', () => {
    const rules: PreflightRules = { ...base, proRoleIds: new Set(['role-patron']) };

    it('refuses sora-2-pro to a member without one of the roles', () => {
      const error = refusal(preflightGenerate(input({ model: 'sora-2-pro', memberRoleIds: ['role-other'] }), rules));
      expect(error.code).toBe('MODEL_NOT_ALLOWED');
      expect(error.message).toContain('sora-2');
      expect(refusal(preflightGenerate(input({ model: 'sora-2-pro', memberRoleIds: undefined }), rules)).code).toBe('MODEL_NOT_ALLOWED');
    });

    it('accepts sora-2-pro for a member with the role, and sora-2 for everyone', () => {
      expect(request(preflightGenerate(input({ model: 'sora-2-pro', memberRoleIds: ['role-other', 'role-patron'] }), rules)).model).toBe(
        'sora-2-pro',
      );
      expect(preflightGenerate(input({ model: 'sora-2' }), rules).ok).toBe(true);
      expect(preflightGenerate(input({ model: 'sora-2-pro' }), { ...base, proRoleIds: new Set() }).ok).toBe(true);
    });

    it('also applies when sora-2-pro is only the guild default', () => {
      const proDefault: PreflightRules = { ...rules, defaults: { ...base.defaults, model: 'sora-2-pro' } };
      expect(refusal(preflightGenerate(input(), proDefault)).code).toBe('MODEL_NOT_ALLOWED');
      expect(request(preflightGenerate(input({ model: 'sora-2' }), proDefault)).model).toBe('sora-2');
    });
  });

  it('applies the guild defaults to options the member left out', () => {
    const rules: PreflightRules = {
      ...base,
      defaults: { model: 'sora-2-pro', duration: 15, orientation: 'portrait', size: 'large' },
    };
    expect(request(preflightGenerate(input(), rules))).toMatchObject({
      model: 'sora-2-pro',
      duration: 15,
      orientation: 'portrait',
      size: 'large',
    });
    expect(request(preflightGenerate(input({ orientation: 'landscape' }), rules)).orientation).toBe('landscape');
  });
});
