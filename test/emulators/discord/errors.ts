/** JSON error codes the emulator answers with (Discord's own numbers). */
export const DiscordErrorCode = {
  General: 0,
  UnknownChannel: 10003,
  UnknownGuild: 10004,
  UnknownMember: 10007,
  UnknownMessage: 10008,
  UnknownUser: 10013,
  UnknownWebhook: 10015,
  UnknownInteraction: 10062,
  UnknownApplicationCommand: 10063,
  RequestEntityTooLarge: 40005,
  InteractionAlreadyAcknowledged: 40060,
  MissingAccess: 50001,
  CannotEditOtherUsersMessage: 50005,
  CannotSendEmptyMessage: 50006,
  MissingPermissions: 50013,
  InvalidWebhookToken: 50027,
  InvalidFormBody: 50035,
  InvalidJson: 50109,
} as const;

/** One field problem of a 50035 Invalid Form Body answer. */
export interface FormIssue {
  path: readonly (string | number)[];
  code: string;
  message: string;
}

/** An HTTP error with Discord's JSON body `{ code, message, errors? }`, thrown inside route handlers. */
export class DiscordHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: unknown,
  ) {
    super(message);
    this.name = 'DiscordHttpError';
  }

  /** The JSON body Discord sends for this error. */
  toBody(): Record<string, unknown> {
    return this.errors === undefined
      ? { message: this.message, code: this.code }
      : { message: this.message, code: this.code, errors: this.errors };
  }
}

/** Shortcuts for the errors the emulator raises. */
export const discordErrors = {
  unauthorized: () => new DiscordHttpError(401, DiscordErrorCode.General, '401: Unauthorized'),
  notFound: () => new DiscordHttpError(404, DiscordErrorCode.General, '404: Not Found'),
  methodNotAllowed: () => new DiscordHttpError(405, DiscordErrorCode.General, '405: Method Not Allowed'),
  unknownChannel: () => new DiscordHttpError(404, DiscordErrorCode.UnknownChannel, 'Unknown Channel'),
  unknownGuild: () => new DiscordHttpError(404, DiscordErrorCode.UnknownGuild, 'Unknown Guild'),
  unknownMember: () => new DiscordHttpError(404, DiscordErrorCode.UnknownMember, 'Unknown Member'),
  unknownMessage: () => new DiscordHttpError(404, DiscordErrorCode.UnknownMessage, 'Unknown Message'),
  unknownUser: () => new DiscordHttpError(404, DiscordErrorCode.UnknownUser, 'Unknown User'),
  unknownWebhook: () => new DiscordHttpError(404, DiscordErrorCode.UnknownWebhook, 'Unknown Webhook'),
  unknownInteraction: () => new DiscordHttpError(404, DiscordErrorCode.UnknownInteraction, 'Unknown interaction'),
  unknownCommand: () => new DiscordHttpError(404, DiscordErrorCode.UnknownApplicationCommand, 'Unknown application command'),
  alreadyAcknowledged: () =>
    new DiscordHttpError(400, DiscordErrorCode.InteractionAlreadyAcknowledged, 'Interaction has already been acknowledged.'),
  entityTooLarge: () => new DiscordHttpError(413, DiscordErrorCode.RequestEntityTooLarge, 'Request entity too large'),
  missingAccess: () => new DiscordHttpError(403, DiscordErrorCode.MissingAccess, 'Missing Access'),
  missingPermissions: () => new DiscordHttpError(403, DiscordErrorCode.MissingPermissions, 'Missing Permissions'),
  cannotEditOthers: () =>
    new DiscordHttpError(403, DiscordErrorCode.CannotEditOtherUsersMessage, 'Cannot edit a message authored by another user'),
  emptyMessage: () => new DiscordHttpError(400, DiscordErrorCode.CannotSendEmptyMessage, 'Cannot send an empty message'),
  invalidWebhookToken: () => new DiscordHttpError(401, DiscordErrorCode.InvalidWebhookToken, 'Invalid Webhook Token'),
  invalidJson: () => new DiscordHttpError(400, DiscordErrorCode.InvalidJson, 'The request body contains invalid JSON.'),
  invalidFormBody: (issues: readonly FormIssue[]) =>
    new DiscordHttpError(400, DiscordErrorCode.InvalidFormBody, 'Invalid Form Body', formErrorTree(issues)),
} as const;

/** Builds Discord's nested `errors` object: `{ content: { _errors: [{ code, message }] } }`. */
export function formErrorTree(issues: readonly FormIssue[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const issue of issues) {
    let node = root;
    for (const key of issue.path) {
      const name = String(key);
      const child = node[name];
      if (typeof child === 'object' && child !== null) {
        node = child as Record<string, unknown>;
      } else {
        const created: Record<string, unknown> = {};
        node[name] = created;
        node = created;
      }
    }
    const list = Array.isArray(node._errors) ? (node._errors as unknown[]) : [];
    list.push({ code: issue.code, message: issue.message });
    node._errors = list;
  }
  return root;
}
