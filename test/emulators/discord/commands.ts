import type { FormIssue } from './errors.js';

const CHAT_INPUT_NAME = /^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;
const BAD_LENGTH_1_100 = 'Must be between 1 and 100 in length.';

/** Checks application command definitions against Discord's rules; returns every problem found. */
export function commandIssues(commands: readonly unknown[]): FormIssue[] {
  const issues: FormIssue[] = [];
  if (commands.length > 100) issues.push(issue([], 'BASE_TYPE_MAX_LENGTH', 'Must be 100 or fewer in length.'));
  const seen = new Set<string>();
  commands.forEach((raw, index) => {
    const command = asRecord(raw);
    const type = typeof command.type === 'number' ? command.type : 1;
    const name = typeof command.name === 'string' ? command.name : '';
    issues.push(...nameIssues(name, type === 1, [index, 'name']));
    if (seen.has(`${type}:${name}`)) {
      issues.push(issue([index, 'name'], 'APPLICATION_COMMANDS_DUPLICATE_NAME', 'Application command names must be unique'));
    }
    seen.add(`${type}:${name}`);
    const description = typeof command.description === 'string' ? command.description : '';
    if (type === 1 && (description.length < 1 || description.length > 100)) {
      issues.push(issue([index, 'description'], 'BASE_TYPE_BAD_LENGTH', BAD_LENGTH_1_100));
    }
    if (type !== 1 && description !== '') {
      issues.push(
        issue([index, 'description'], 'APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION', 'Context menu commands cannot have description'),
      );
    }
    issues.push(...optionIssues(command.options, [index, 'options'], 0));
  });
  return issues;
}

function optionIssues(value: unknown, path: (string | number)[], depth: number): FormIssue[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return [issue(path, 'BASE_TYPE_INVALID', 'Must be an array.')];
  const issues: FormIssue[] = [];
  if (value.length > 25) issues.push(issue(path, 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.'));
  let optionalSeen = false;
  const names = new Set<string>();
  const kinds = new Set<'sub' | 'plain'>();
  value.forEach((raw, index) => {
    const option = asRecord(raw);
    const here = [...path, index];
    const type = typeof option.type === 'number' ? option.type : 0;
    const name = typeof option.name === 'string' ? option.name : '';
    issues.push(...nameIssues(name, true, [...here, 'name']));
    if (names.has(name)) {
      issues.push(issue([...here, 'name'], 'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS', 'Option names must be unique'));
    }
    names.add(name);
    const description = typeof option.description === 'string' ? option.description : '';
    if (description.length < 1 || description.length > 100) {
      issues.push(issue([...here, 'description'], 'BASE_TYPE_BAD_LENGTH', BAD_LENGTH_1_100));
    }
    if (type === 1 || type === 2) {
      kinds.add('sub');
      if ((type === 2 && depth > 0) || (type === 1 && depth > 1)) {
        issues.push(issue([...here, 'type'], 'APPLICATION_COMMAND_OPTION_TYPE_INVALID', 'Subcommands cannot nest this deep'));
      }
      issues.push(...optionIssues(option.options, [...here, 'options'], depth + 1));
      return;
    }
    kinds.add('plain');
    // Discord rejects a required option that follows an optional one.
    if (option.required === true && optionalSeen) {
      issues.push(
        issue(
          [...here, 'required'],
          'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID',
          'Required options must be placed before non-required options',
        ),
      );
    }
    if (option.required !== true) optionalSeen = true;
    issues.push(...choiceIssues(option, here));
  });
  if (kinds.size > 1) {
    issues.push(issue(path, 'APPLICATION_COMMAND_OPTIONS_TYPE_INVALID', 'Subcommands cannot be mixed with other options'));
  }
  return issues;
}

function choiceIssues(option: Record<string, unknown>, here: (string | number)[]): FormIssue[] {
  if (!Array.isArray(option.choices)) return [];
  const issues: FormIssue[] = [];
  if (option.choices.length > 25) {
    issues.push(issue([...here, 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.'));
  }
  if (option.autocomplete === true) {
    issues.push(issue([...here, 'autocomplete'], 'APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES', 'Autocomplete cannot have choices'));
  }
  option.choices.forEach((choice, index) => {
    const choiceName = asRecord(choice).name;
    if (typeof choiceName !== 'string' || choiceName.length < 1 || choiceName.length > 100) {
      issues.push(issue([...here, 'choices', index, 'name'], 'BASE_TYPE_BAD_LENGTH', BAD_LENGTH_1_100));
    }
  });
  return issues;
}

function nameIssues(name: string, chatInput: boolean, path: (string | number)[]): FormIssue[] {
  const valid = chatInput ? CHAT_INPUT_NAME.test(name) && name === name.toLowerCase() : name.length >= 1 && name.length <= 32;
  return valid ? [] : [issue(path, 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid')];
}

function issue(path: (string | number)[], code: string, message: string): FormIssue {
  return { path, code, message };
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}
