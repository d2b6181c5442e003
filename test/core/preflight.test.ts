import { MODEL_IDS } from '../../src/core/models/catalogue.js';
import { t } from '../../src/i18n/index.js';
import { describe, it, expect } from 'vitest';
import {
  preflightGenerate,
  requiredPermissions,
  type BotPermission,
  type GenerateCommandInput,
  type PreflightResult,
  type PreflightRules,
} from '../../src/core/preflight.js';
import { UserFacingError } from '../../src/core/user-facing-error.js';

const MB = 1024 * 1024;
const ALL_PERMISSIONS: BotPermission[] = [
  'ViewChannel',
  'SendMessages',
  'SendMessagesInThreads',
  'EmbedLinks',
  'AttachFiles',
  'ReadMessageHistory',
];

const rules: PreflightRules = {
  allowedGuildIds: undefined,
  promptMaxChars: 2000,
  imageMaxBytes: 25 * MB,
  defaults: { model: 'sora-2', duration: 15, orientation: 'portrait', size: 'small' },
  offeredModelIds: MODEL_IDS,
};

function input(overrides: Partial<GenerateCommandInput> = {}): GenerateCommandInput {
  return {
    guildId: 'guild-1',
    channelIsThread: false,
    botPermissions: new Set(ALL_PERMISSIONS),
    prompt: 'a cat surfing at sunset',
    ...overrides,
  };
}

function errorOf(result: PreflightResult): UserFacingError {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.request)}`);
  expect(result.error).toBeInstanceOf(UserFacingError);
  return result.error;
}

function requestOf(result: PreflightResult) {
  if (!result.ok) throw new Error(`expected a request, got ${result.error.code}: ${result.error.message}`);
  return result.request;
}

const image = (overrides: Partial<NonNullable<GenerateCommandInput['attachment']>> = {}) => ({
  name: 'ref.png',
  contentType: 'image/png' as string | null,
  size: 2 * MB,
  url: 'https://cdn.discordapp.com/attachments/1/2/ref.png?ex=abc',
  ...overrides,
});

describe('preflightGenerate', () => {
  it('refuses DMs', () => {
    expect(errorOf(preflightGenerate(input({ guildId: null }), rules)).code).toBe('NOT_IN_GUILD');
  });

  it('refuses a guild outside ALLOWED_GUILD_IDS and accepts one inside', () => {
    const allowList = { ...rules, allowedGuildIds: new Set(['guild-2']) };
    expect(errorOf(preflightGenerate(input(), allowList)).code).toBe('GUILD_NOT_ALLOWED');
    expect(requestOf(preflightGenerate(input({ guildId: 'guild-2' }), allowList)).prompt).toBe('a cat surfing at sunset');
  });

  it.each([
    ['ViewChannel', 'View Channel'],
    ['SendMessages', 'Send Messages'],
    ['EmbedLinks', 'Embed Links'],
    ['AttachFiles', 'Attach Files'],
    ['ReadMessageHistory', 'Read Message History'],
  ] as const)('refuses when %s is missing and names it', (permission, humanName) => {
    const permissions = new Set(ALL_PERMISSIONS.filter((p) => p !== permission));
    const error = errorOf(preflightGenerate(input({ botPermissions: permissions }), rules));
    expect(error.code).toBe('MISSING_PERMISSIONS');
    expect(error.message).toContain(humanName);
  });

  it('lists every missing permission at once', () => {
    const error = errorOf(preflightGenerate(input({ botPermissions: new Set(['ViewChannel']) }), rules));
    for (const name of ['Send Messages', 'Embed Links', 'Attach Files', 'Read Message History']) {
      expect(error.message).toContain(name);
    }
  });

  it('names the missing permissions in the member’s language, as Discord’s settings show them', () => {
    const error = errorOf(
      preflightGenerate(input({ botPermissions: new Set(['ViewChannel', 'EmbedLinks', 'ReadMessageHistory']) }), rules),
    );
    expect(error.localized('en')).toContain('Send Messages, Attach Files');
    expect(error.localized('zh-CN')).toContain(`${t('zh-CN', 'perm.SendMessages')}、${t('zh-CN', 'perm.AttachFiles')}`);
    expect(error.localized('ja')).toContain(`${t('ja', 'perm.SendMessages')}、${t('ja', 'perm.AttachFiles')}`);
    expect(error.localized('ja')).not.toContain('Send Messages');
  });

  it('in a thread needs SendMessagesInThreads rather than SendMessages', () => {
    const withoutThreadSend = new Set(ALL_PERMISSIONS.filter((p) => p !== 'SendMessagesInThreads'));
    const error = errorOf(preflightGenerate(input({ channelIsThread: true, botPermissions: withoutThreadSend }), rules));
    expect(error.code).toBe('MISSING_PERMISSIONS');
    expect(error.message).toContain('Send Messages in Threads');

    const withoutPlainSend = new Set(ALL_PERMISSIONS.filter((p) => p !== 'SendMessages'));
    expect(preflightGenerate(input({ channelIsThread: true, botPermissions: withoutPlainSend }), rules).ok).toBe(true);
    expect(requiredPermissions(true)).not.toContain('SendMessages');
    expect(requiredPermissions(false)).not.toContain('SendMessagesInThreads');
  });

  it.each(['', '   ', '\n\t  '])('refuses an empty prompt (%j)', (prompt) => {
    expect(errorOf(preflightGenerate(input({ prompt }), rules)).code).toBe('PROMPT_EMPTY');
  });

  it('trims the prompt it sends', () => {
    expect(requestOf(preflightGenerate(input({ prompt: '  a red kite  \n' }), rules)).prompt).toBe('a red kite');
  });

  it('counts prompt length in code points, not UTF-16 units', () => {
    // 1500 emoji are 3000 UTF-16 units but 1500 characters: under the 2000 limit.
    const emoji = '🎬'.repeat(1500);
    expect(emoji.length).toBe(3000);
    expect(requestOf(preflightGenerate(input({ prompt: emoji }), rules)).prompt).toBe(emoji);

    const cjk = '猫'.repeat(2000);
    expect(preflightGenerate(input({ prompt: cjk }), rules).ok).toBe(true);

    const tooLong = errorOf(preflightGenerate(input({ prompt: '猫'.repeat(2001) }), rules));
    expect(tooLong.code).toBe('PROMPT_TOO_LONG');
    expect(tooLong.message).toContain('2001');

    const emojiTooLong = errorOf(preflightGenerate(input({ prompt: '🎬'.repeat(2001) }), rules));
    expect(emojiTooLong.code).toBe('PROMPT_TOO_LONG');
    expect(emojiTooLong.message).toContain('2001');
  });

  it('applies the defaults when options are absent', () => {
    const request = requestOf(preflightGenerate(input({ model: null, duration: undefined }), rules));
    expect(request).toEqual({
      prompt: 'a cat surfing at sunset',
      model: 'sora-2',
      duration: 15,
      orientation: 'portrait',
      size: 'small',
    });
  });

  it('carries the chosen options (large with sora-2 is sent as asked)', () => {
    const request = requestOf(preflightGenerate(input({ model: 'sora-2', duration: 10, orientation: 'landscape', size: 'large' }), rules));
    expect(request).toMatchObject({ model: 'sora-2', duration: 10, orientation: 'landscape', size: 'large' });
  });

  it('refuses unknown option values', () => {
    expect(errorOf(preflightGenerate(input({ model: 'sora-3' }), rules)).code).toBe('OPTION_INVALID');
    expect(errorOf(preflightGenerate(input({ duration: 12 }), rules)).code).toBe('OPTION_INVALID');
    expect(errorOf(preflightGenerate(input({ orientation: 'square' }), rules)).code).toBe('OPTION_INVALID');
  });

  it('refuses 25 s with sora-2 (chosen or default), naming the lengths it allows, and accepts it with sora-2-pro', () => {
    const chosen = errorOf(preflightGenerate(input({ model: 'sora-2', duration: 25 }), rules));
    expect(chosen.code).toBe('OPTION_INVALID');
    expect(chosen.message).toContain('10, 15');
    expect(errorOf(preflightGenerate(input({ duration: 25 }), rules)).code).toBe('OPTION_INVALID');
    expect(requestOf(preflightGenerate(input({ model: 'sora-2-pro', duration: 25 }), rules)).duration).toBe(25);
  });

  it('carries the image URL of an accepted image', () => {
    const attachment = image();
    expect(requestOf(preflightGenerate(input({ attachment }), rules)).imageUrl).toBe(attachment.url);
    expect(requestOf(preflightGenerate(input(), rules)).imageUrl).toBeUndefined();
  });

  it('accepts a content type with parameters and other casing', () => {
    const attachment = image({ name: 'photo', contentType: 'Image/JPEG; charset=binary' });
    expect(requestOf(preflightGenerate(input({ attachment }), rules)).imageUrl).toBe(attachment.url);
  });

  it.each([
    { name: 'clip.mp4', contentType: 'video/mp4' },
    { name: 'notes.txt', contentType: 'text/plain' },
    { name: 'vector.svg', contentType: 'image/svg+xml' },
    { name: 'notes.txt', contentType: null },
  ])('refuses a non-image attachment ($name, $contentType)', (attachment) => {
    const error = errorOf(preflightGenerate(input({ attachment: image(attachment) }), rules));
    expect(error.code).toBe('ATTACHMENT_NOT_IMAGE');
    expect(error.message).toContain(attachment.name);
  });

  it('accepts an image without a content type when its name ends in .png', () => {
    const attachment = image({ name: 'Screenshot.PNG', contentType: null });
    expect(requestOf(preflightGenerate(input({ attachment }), rules)).imageUrl).toBe(attachment.url);
  });

  it('refuses an image over the size limit and accepts one at the limit', () => {
    const tooLarge = errorOf(preflightGenerate(input({ attachment: image({ size: 25 * MB + 1 }) }), rules));
    expect(tooLarge.code).toBe('ATTACHMENT_TOO_LARGE');
    expect(tooLarge.message).toContain('25.0 MB');
    expect(preflightGenerate(input({ attachment: image({ size: 25 * MB }) }), rules).ok).toBe(true);
  });

  it('checks the guild before permissions and permissions before the prompt', () => {
    const everythingWrong = input({
      guildId: 'guild-9',
      botPermissions: new Set(),
      prompt: ' ',
    });
    expect(errorOf(preflightGenerate(everythingWrong, { ...rules, allowedGuildIds: new Set(['guild-1']) })).code).toBe('GUILD_NOT_ALLOWED');
    expect(errorOf(preflightGenerate(everythingWrong, rules)).code).toBe('MISSING_PERMISSIONS');
  });
});
