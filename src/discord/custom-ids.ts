import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIButtonComponent } from 'discord.js';
import type { Task } from '../core/task.js';
import { t } from '../i18n/index.js';

/** Every custom id of ours starts with this, so the router can tell them from anything else. */
export const CUSTOM_ID_PREFIX = 'sora';
// Discord's limit on a component's or modal's custom_id.
const CUSTOM_ID_MAX = 100;

/** What a component or modal of ours does; the argument (a task id, a message) follows it. */
export const CUSTOM_ACTIONS = [
  'regen',
  'remix',
  'delete',
  'share',
  'cancel',
  'remix-modal',
  'animate-modal',
  'history',
  'switch-model',
] as const;
export type CustomAction = (typeof CUSTOM_ACTIONS)[number];

/** `sora:<action>:<args joined by ':'>`; throws when it would not fit Discord's 100 characters (a bug). */
export function customId(action: CustomAction, ...args: string[]): string {
  const id = [CUSTOM_ID_PREFIX, action, ...args].join(':');
  if (id.length > CUSTOM_ID_MAX) throw new Error(`custom id longer than ${CUSTOM_ID_MAX} characters: ${action}`);
  return id;
}

/** Reads one of our custom ids back; undefined for anything else. */
export function parseCustomId(id: string): { action: CustomAction; args: string[] } | undefined {
  const [prefix, action, ...args] = id.split(':');
  if (prefix !== CUSTOM_ID_PREFIX || !CUSTOM_ACTIONS.includes(action as CustomAction)) return undefined;
  if (args.length === 0 || args.some((arg) => arg === '')) return undefined;
  return { action: action as CustomAction, args };
}

/** The field id of the prompt text input in our modals. */
export const PROMPT_FIELD_ID = 'prompt';

function button(label: string, id: string, style: ButtonStyle, emoji?: string): APIButtonComponent {
  return {
    type: ComponentType.Button,
    style,
    label,
    custom_id: id,
    ...(emoji ? { emoji: { name: emoji } } : {}),
  } as APIButtonComponent;
}

/**
 * The buttons under a result message: Regenerate, Remix, Share (videos only) and Delete; a task
 * whose model is not served gets "Run on the server's default model" first (never switched silently:
 * prices differ).
 */
export function resultButtons(
  task: Pick<Task, 'id'>,
  withShare: boolean,
  locale?: string | null,
  options: { switchModel?: boolean } = {},
): APIActionRowComponent<APIButtonComponent> {
  const buttons = [
    ...(options.switchModel ? [button(t(locale, 'button.switchModel'), customId('switch-model', task.id), ButtonStyle.Primary, '🔀')] : []),
    button(t(locale, 'button.regen'), customId('regen', task.id), ButtonStyle.Secondary, '🔁'),
    button(t(locale, 'button.remix'), customId('remix', task.id), ButtonStyle.Secondary, '✏️'),
    ...(withShare ? [button(t(locale, 'button.share'), customId('share', task.id), ButtonStyle.Secondary, '⭐')] : []),
    button(t(locale, 'button.delete'), customId('delete', task.id), ButtonStyle.Danger, '🗑️'),
  ];
  return { type: ComponentType.ActionRow, components: buttons };
}

/** The Cancel button on the member's ephemeral reply while the task waits or runs. */
export function cancelButton(task: Pick<Task, 'id'>, running: boolean, locale?: string | null): APIActionRowComponent<APIButtonComponent> {
  return {
    type: ComponentType.ActionRow,
    components: [
      button(t(locale, running ? 'button.stopFollowing' : 'button.cancel'), customId('cancel', task.id), ButtonStyle.Secondary, '✖️'),
    ],
  };
}

/** Previous/Next under a `/sora history` page: `sora:history:<member id>:<page>` (pages count from 0). */
export function historyButtons(
  userId: string,
  page: number,
  hasNext: boolean,
  locale: string | null | undefined,
): APIActionRowComponent<APIButtonComponent> {
  // Ids stay distinct on the first and last page: the disabled button points at a page of its own.
  const previous = button(
    t(locale, 'history.previous'),
    customId('history', userId, String(Math.max(0, page - 1))),
    ButtonStyle.Secondary,
    '◀️',
  );
  const next = button(t(locale, 'history.next'), customId('history', userId, String(page + 1)), ButtonStyle.Secondary, '▶️');
  return {
    type: ComponentType.ActionRow,
    components: [
      { ...previous, disabled: page === 0 },
      { ...next, disabled: !hasNext },
    ] as APIButtonComponent[],
  };
}
