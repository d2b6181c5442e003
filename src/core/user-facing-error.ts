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

/** The only error whose message reaches a member verbatim; everything else gets a reference id. */
export class UserFacingError extends Error {
  constructor(
    readonly code: UserFacingErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UserFacingError';
  }
}
