import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { catalogueFor, TRANSLATED_LOCALES, type MessageKey } from '../i18n/index.js';
import { en } from '../i18n/en.js';

interface Choice {
  name: string;
  value: string | number;
  name_localizations?: Record<string, string> | null;
}

interface DescribedNode {
  name: string;
  description: string;
  description_localizations?: Record<string, string> | null;
  options?: readonly unknown[];
  choices?: readonly Choice[];
}

/** `{ 'zh-CN': …, ja: … }` for a catalogue key: Discord's `name_localizations` / `description_localizations`. */
export function localizationsOf(key: MessageKey): Record<string, string> {
  return Object.fromEntries(TRANSLATED_LOCALES.map((locale) => [locale, catalogueFor(locale)[key]]));
}

/**
 * Adds `description_localizations` (from the catalogues' `cmd.<path>` keys) to a slash command and
 * every subcommand, group and option in it, and `name_localizations` to every option choice (from
 * `choice.<option>.<value>`, shared by options of the same name); throws when a key is missing (a bug).
 */
export function localizeCommand<T extends RESTPostAPIChatInputApplicationCommandsJSONBody>(command: T): T {
  return localizeNode(command as unknown as DescribedNode, `cmd.${command.name}`) as unknown as T;
}

function localizeNode(node: DescribedNode, path: string): DescribedNode {
  const key = catalogueKey(path, `the description "${node.description}"`);
  const options = node.options?.map((option) => localizeNode(option as DescribedNode, `${path}.${(option as DescribedNode).name}`));
  const choices = node.choices?.map((choice) => ({
    ...choice,
    name_localizations: localizationsOf(catalogueKey(`choice.${node.name}.${choice.value}`, `the choice "${choice.name}"`)),
  }));
  return {
    ...node,
    description_localizations: localizationsOf(key),
    ...(options ? { options } : {}),
    ...(choices ? { choices } : {}),
  };
}

function catalogueKey(path: string, what: string): MessageKey {
  if (!(path in en)) throw new Error(`no catalogue entry ${path} for ${what}`);
  return path as MessageKey;
}
