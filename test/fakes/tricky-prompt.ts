/** Ids a tricky prompt mentions (anyone but the member who asks). */
export interface TrickyMentions {
  userId: string;
  roleId: string;
  channelId: string;
}

/** A ZWJ family: eleven UTF-16 units, one grapheme. */
export const ZWJ_FAMILY = '👩\u200D👩\u200D👧\u200D👦';

/**
 * A prompt of exactly `codePoints` code points (how PROMPT_MAX_CHARS counts) that is as hard on
 * Discord's limits as a member can make it: emoji (two UTF-16 units each, some in ZWJ sequences and
 * flags), CJK, every markdown marker, and @everyone, @here, user, role and channel mentions.
 */
export function trickyPrompt(codePoints: number, mentions: TrickyMentions): string {
  const chunk =
    `**bold** __under__ ~~strike~~ \`code\` ||spoiler|| [link](https://example.invalid) ` +
    `@here @everyone <@${mentions.userId}> <@&${mentions.roleId}> <#${mentions.channelId}> ` +
    `猫が雪の中を走る ${ZWJ_FAMILY} 🏳\uFE0F\u200D🌈 🇯🇵 🎬🎬 e\u0301 `;
  const chunkLength = [...chunk].length;
  let prompt = '';
  let length = 0;
  while (length + chunkLength <= codePoints) {
    prompt += chunk;
    length += chunkLength;
  }
  // Pad with CJK to the exact count (and end on a visible character: the ends are trimmed).
  return prompt + '猫'.repeat(codePoints - length);
}
