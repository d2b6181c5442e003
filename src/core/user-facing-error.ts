import { t, type MessageKey, type MessageParams } from '../i18n/index.js';

/** Codes of the errors whose message is shown to the member as is. */
export type UserFacingErrorCode =
  | 'NOT_IN_GUILD'
  | 'GUILD_NOT_ALLOWED'
  | 'MISSING_PERMISSIONS'
  | 'PROMPT_EMPTY'
  | 'PROMPT_TOO_LONG'
  | 'ATTACHMENT_NOT_IMAGE'
  | 'ATTACHMENT_TOO_LARGE'
  | 'OPTION_INVALID'
  | 'QUOTA_REACHED'
  | 'MEMBER_COOLDOWN'
  | 'BUDGET_REACHED'
  | 'CHANNEL_NOT_ALLOWED'
  | 'PROMPT_BLOCKED'
  | 'MODEL_NOT_ALLOWED'
  | 'ADMIN_ONLY'
  | 'SETTING_INVALID'
  | 'GUILD_BUSY'
  | 'ACCOUNT_NEEDS_ATTENTION'
  | 'TASK_NOT_FOUND'
  | 'SHUTTING_DOWN'
  | 'IMAGE_EXPIRED'
  | 'NO_IMAGE'
  | 'NOT_YOURS'
  | 'NOT_AVAILABLE';

/** The only error whose message reaches a member (in their language); everything else gets a reference id. */
export class UserFacingError extends Error {
  /** The English text is `.message` (for logs and tests); the router renders `key` in the member's locale. */
  constructor(
    readonly code: UserFacingErrorCode,
    readonly key: MessageKey,
    readonly params: MessageParams = {},
    /** Placeholders filled with a list of messages (e.g. permission names), each in the member's language. */
    readonly listParams: Readonly<Record<string, readonly MessageKey[]>> = {},
  ) {
    super(t('en', key, withLists('en', params, listParams)));
    this.name = 'UserFacingError';
  }

  /** The message in a Discord locale (English when the locale has no catalogue). */
  localized(locale: string | null | undefined): string {
    return t(locale, this.key, withLists(locale, this.params, this.listParams));
  }
}

function withLists(
  locale: string | null | undefined,
  params: MessageParams,
  lists: Readonly<Record<string, readonly MessageKey[]>>,
): MessageParams {
  const separator = t(locale, 'common.listSeparator');
  const rendered: Record<string, string> = {};
  for (const [name, keys] of Object.entries(lists)) rendered[name] = keys.map((key) => t(locale, key)).join(separator);
  return { ...params, ...rendered };
}
