import { discordErrors } from './errors.js';
import type { FormIssue } from './errors.js';
import type { InteractionHandle } from './interaction-handle.js';
import { InteractionKind } from './interactions.js';
import { componentIssues } from './messages.js';

type Path = (string | number)[];

/** Which callback types each interaction type accepts (modal submits: updates only when opened from a message). */
export function assertCallbackAllowed(handle: InteractionHandle, type: number | null): void {
  const allowed: Record<number, number[]> = {
    [InteractionKind.ApplicationCommand]: [4, 5, 9, 12],
    [InteractionKind.MessageComponent]: [4, 5, 6, 7, 9, 12],
    [InteractionKind.Autocomplete]: [8],
    [InteractionKind.ModalSubmit]: handle.componentMessageId ? [4, 5, 6, 7] : [4, 5],
  };
  if (type === null || !(allowed[handle.type] ?? []).includes(type)) {
    throw discordErrors.invalidFormBody([
      issue(['type'], 'INTERACTION_RESPONSE_TYPE_INVALID', 'Interaction response type is invalid for this interaction.'),
    ]);
  }
}

/** Autocomplete results: at most 25 choices, names 1–100 characters, string values ≤ 100. */
export function assertChoices(data: Record<string, unknown> | undefined): void {
  const choices = Array.isArray(data?.choices) ? (data.choices as unknown[]) : [];
  const issues: FormIssue[] = [];
  if (choices.length > 25) issues.push(maxLength(['data', 'choices'], 25));
  choices.forEach((choice, index) => {
    const record = asRecord(choice);
    issues.push(...lengthIssues(['data', 'choices', index, 'name'], record.name, 1, 100));
    if (typeof record.value === 'string' && record.value.length > 100) {
      issues.push(maxLength(['data', 'choices', index, 'value'], 100));
    }
  });
  if (issues.length > 0) throw discordErrors.invalidFormBody(issues);
}

/** Modals: title 1–45, custom_id 1–100, 1–5 top-level components, text input limits. */
export function assertModal(data: Record<string, unknown> | undefined): void {
  const components = Array.isArray(data?.components) ? (data.components as unknown[]) : [];
  const issues: FormIssue[] = [
    ...lengthIssues(['data', 'title'], data?.title, 1, 45),
    ...lengthIssues(['data', 'custom_id'], data?.custom_id, 1, 100),
  ];
  if (components.length < 1 || components.length > 5) {
    issues.push(issue(['data', 'components'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.'));
  }
  issues.push(...componentIssues(components, ['data', 'components']), ...textInputIssues(components, ['data', 'components']));
  if (issues.length > 0) throw discordErrors.invalidFormBody(issues);
}

/** Text inputs: value and max_length ≤ 4000, placeholder ≤ 100, label ≤ 45. */
function textInputIssues(components: readonly unknown[], path: Path): FormIssue[] {
  const issues: FormIssue[] = [];
  components.forEach((component, index) => {
    const record = asRecord(component);
    const here = [...path, index];
    if (record.type === 4) {
      const limits: [string, number][] = [
        ['value', 4000],
        ['placeholder', 100],
        ['label', 45],
      ];
      for (const [field, max] of limits) {
        const value = record[field];
        if (typeof value === 'string' && value.length > max) issues.push(maxLength([...here, field], max));
      }
      if (typeof record.max_length === 'number' && record.max_length > 4000) {
        issues.push(issue([...here, 'max_length'], 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 4000.'));
      }
    }
    if (Array.isArray(record.components)) issues.push(...textInputIssues(record.components, [...here, 'components']));
    if (typeof record.component === 'object' && record.component !== null) {
      issues.push(...textInputIssues([record.component], [...here, 'component']));
    }
  });
  return issues;
}

function lengthIssues(path: Path, value: unknown, min: number, max: number): FormIssue[] {
  const length = typeof value === 'string' ? value.length : 0;
  return length < min || length > max ? [issue(path, 'BASE_TYPE_BAD_LENGTH', `Must be between ${min} and ${max} in length.`)] : [];
}

function maxLength(path: Path, max: number): FormIssue {
  return issue(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
}

function issue(path: Path, code: string, message: string): FormIssue {
  return { path, code, message };
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}
