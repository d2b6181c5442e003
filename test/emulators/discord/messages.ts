import { z } from 'zod';
import { discordErrors } from './errors.js';
import type { FormIssue } from './errors.js';

const embedSchema = z.looseObject({
  title: z.string().max(256).nullish(),
  description: z.string().max(4096).nullish(),
  url: z.string().nullish(),
  color: z.number().int().nullish(),
  fields: z
    .array(z.looseObject({ name: z.string().max(256), value: z.string().max(1024), inline: z.boolean().nullish() }))
    .max(25)
    .nullish(),
  footer: z.looseObject({ text: z.string().max(2048) }).nullish(),
  author: z.looseObject({ name: z.string().max(256) }).nullish(),
});

const allowedMentionsSchema = z.looseObject({
  parse: z.array(z.enum(['users', 'roles', 'everyone'])).nullish(),
  users: z.array(z.string()).max(100).nullish(),
  roles: z.array(z.string()).max(100).nullish(),
  replied_user: z.boolean().nullish(),
});

const attachmentRefSchema = z.looseObject({
  id: z.union([z.string(), z.number().int()]),
  filename: z.string().nullish(),
  description: z.string().max(1024).nullish(),
});

/** The message fields Discord validates on create and edit (channel messages and webhooks alike). */
export const messageBodySchema = z.looseObject({
  content: z.string().max(2000).nullish(),
  // Discord: "nonce ... up to 25 characters"; longer ones are a 50035.
  nonce: z.union([z.string().max(25), z.number().int()]).nullish(),
  enforce_nonce: z.boolean().nullish(),
  tts: z.boolean().nullish(),
  embeds: z.array(embedSchema).max(10).nullish(),
  allowed_mentions: allowedMentionsSchema.nullish(),
  components: z
    .array(z.looseObject({ type: z.number().int() }))
    .max(40)
    .nullish(),
  attachments: z.array(attachmentRefSchema).max(10).nullish(),
  flags: z.number().int().nullish(),
  message_reference: z.looseObject({ message_id: z.string().nullish() }).nullish(),
  sticker_ids: z.array(z.string()).nullish(),
  poll: z.looseObject({}).nullish(),
});

/** `allowed_mentions` as sent by the bot. */
export type AllowedMentionsBody = z.infer<typeof allowedMentionsSchema>;

/** A validated message body. */
export type MessageBody = z.infer<typeof messageBodySchema>;

/** Validates a message body like Discord does; throws a 50035 DiscordHttpError listing every problem. */
export function parseMessageBody(json: Record<string, unknown> | undefined): MessageBody {
  const result = messageBodySchema.safeParse(json ?? {});
  const issues: FormIssue[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      issues.push({
        path: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
        code: issue.code === 'too_big' ? 'BASE_TYPE_MAX_LENGTH' : 'BASE_TYPE_INVALID',
        message: issue.code === 'too_big' ? `Must be ${String(issue.maximum)} or fewer in length.` : issue.message,
      });
    }
    throw discordErrors.invalidFormBody(issues);
  }
  const body = result.data;
  issues.push(...embedTotalIssues(body.embeds ?? []), ...componentIssues(body.components ?? [], ['components']));
  const mentions = body.allowed_mentions;
  if (mentions?.parse?.includes('users') && mentions.users && mentions.users.length > 0) {
    issues.push(exclusiveParseIssue('users'));
  }
  if (mentions?.parse?.includes('roles') && mentions.roles && mentions.roles.length > 0) {
    issues.push(exclusiveParseIssue('roles'));
  }
  if (issues.length > 0) throw discordErrors.invalidFormBody(issues);
  return body;
}

function exclusiveParseIssue(kind: 'users' | 'roles'): FormIssue {
  return {
    path: ['allowed_mentions'],
    code: 'MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE',
    message: `parse:["${kind}"] and ${kind}: [ids...] are mutually exclusive.`,
  };
}

function embedTotalIssues(embeds: readonly z.infer<typeof embedSchema>[]): FormIssue[] {
  let total = 0;
  for (const embed of embeds) {
    total += (embed.title ?? '').length + (embed.description ?? '').length;
    total += (embed.footer?.text ?? '').length + (embed.author?.name ?? '').length;
    for (const field of embed.fields ?? []) total += field.name.length + field.value.length;
  }
  // Discord caps the characters of all embeds of one message together at 6000.
  return total > 6000
    ? [{ path: ['embeds'], code: 'MESSAGE_EMBED_TOTAL_TOO_LONG', message: 'Embed size exceeds maximum size of 6000' }]
    : [];
}

/** Checks `custom_id` (≤ 100) and button `label` (≤ 80) lengths in a component tree. */
export function componentIssues(components: readonly unknown[], path: (string | number)[]): FormIssue[] {
  const issues: FormIssue[] = [];
  components.forEach((component, index) => {
    if (typeof component !== 'object' || component === null) return;
    const record = component as Record<string, unknown>;
    const here = [...path, index];
    if (typeof record.custom_id === 'string' && record.custom_id.length > 100) {
      issues.push({ path: [...here, 'custom_id'], code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 100 or fewer in length.' });
    }
    if (record.type === 2 && typeof record.label === 'string' && record.label.length > 80) {
      issues.push({ path: [...here, 'label'], code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 80 or fewer in length.' });
    }
    if (Array.isArray(record.components)) issues.push(...componentIssues(record.components, [...here, 'components']));
    if (typeof record.component === 'object' && record.component !== null) {
      issues.push(...componentIssues([record.component], [...here, 'component']));
    }
  });
  return issues;
}

/** Who a message actually pings, after `allowed_mentions` (mentions are parsed from `content` only). */
export interface ResolvedMentions {
  userIds: string[];
  roleIds: string[];
  /** `@everyone` / `@here` was in the content, allowed, and the author may mention everyone. */
  everyone: boolean;
}

/** Applies Discord's `allowed_mentions` rules to the mentions in `content`. */
export function resolveMentions(
  content: string,
  allowed: AllowedMentionsBody | null | undefined,
  canMentionEveryone: boolean,
): ResolvedMentions {
  const users = unique([...content.matchAll(/<@!?(\d{15,21})>/g)].map((m) => m[1] ?? ''));
  const roles = unique([...content.matchAll(/<@&(\d{15,21})>/g)].map((m) => m[1] ?? ''));
  const mentionsEveryone = /@(everyone|here)\b/.test(content);
  if (!allowed) return { userIds: users, roleIds: roles, everyone: mentionsEveryone && canMentionEveryone };
  const parse = allowed.parse ?? [];
  const userAllow = parse.includes('users') ? users : users.filter((id) => allowed.users?.includes(id));
  const roleAllow = parse.includes('roles') ? roles : roles.filter((id) => allowed.roles?.includes(id));
  return {
    userIds: userAllow,
    roleIds: roleAllow,
    everyone: mentionsEveryone && canMentionEveryone && parse.includes('everyone'),
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
