import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { catalogueFor, TRANSLATED_LOCALES, type MessageKey } from '../i18n/index.js';
import { en } from '../i18n/en.js';

interface DescribedNode {
  name: string;
  description: string;
  description_localizations?: Record<string, string> | null;
  options?: readonly unknown[];
}

/**
 * Adds `description_localizations` (from the catalogues' `cmd.<path>` keys) to a slash command and
 * every subcommand, group and option in it; throws when a description has no catalogue key (a bug).
 */
export function localizeCommand<T extends RESTPostAPIChatInputApplicationCommandsJSONBody>(command: T): T {
  return localizeNode(command as unknown as DescribedNode, `cmd.${command.name}`) as unknown as T;
}

function localizeNode(node: DescribedNode, path: string): DescribedNode {
  if (!(path in en)) throw new Error(`no catalogue entry ${path} for the description "${node.description}"`);
  const key = path as MessageKey;
  const localizations = Object.fromEntries(TRANSLATED_LOCALES.map((locale) => [locale, catalogueFor(locale)[key]]));
  const options = node.options?.map((option) => localizeNode(option as DescribedNode, `${path}.${(option as DescribedNode).name}`));
  return { ...node, description_localizations: localizations, ...(options ? { options } : {}) };
}
