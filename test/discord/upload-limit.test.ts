import { describe, expect, it } from 'vitest';
import { DEFAULT_UPLOAD_LIMIT_BYTES, uploadLimitOf } from '../../src/discord/upload-limit.js';

const MIB = 1024 * 1024;

describe('uploadLimitOf', () => {
  it("keeps the limit Discord sent with the interaction (a boosted guild's, or a lower one)", () => {
    expect(uploadLimitOf({ attachmentSizeLimit: 50 * MIB })).toBe(50 * MIB);
    expect(uploadLimitOf({ attachmentSizeLimit: 8 * MIB })).toBe(8 * MIB);
  });

  it("falls back to Discord's 20 MiB default when the field is missing or unusable", () => {
    expect(DEFAULT_UPLOAD_LIMIT_BYTES).toBe(20 * MIB);
    // discord.js copies `attachment_size_limit` as is: an older payload leaves it undefined.
    expect(uploadLimitOf({})).toBe(20 * MIB);
    expect(uploadLimitOf({ attachmentSizeLimit: undefined })).toBe(20 * MIB);
    expect(uploadLimitOf({ attachmentSizeLimit: null })).toBe(20 * MIB);
    for (const odd of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1.5]) {
      expect(uploadLimitOf({ attachmentSizeLimit: odd }), String(odd)).toBe(20 * MIB);
    }
  });
});
