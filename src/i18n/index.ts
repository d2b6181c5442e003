import { en, type Catalogue, type MessageKey } from './en.js';
import { ja } from './ja.js';
import { zhCN } from './zh-CN.js';

export type { Catalogue, MessageKey } from './en.js';

/** Values substituted for `{name}` placeholders. */
export type MessageParams = Readonly<Record<string, string | number>>;

/** Every catalogue by Discord locale; adding a language is one file and one line here. */
export const CATALOGUES: Readonly<Record<string, Catalogue>> = {
  en,
  'zh-CN': zhCN,
  ja,
};

/** The locales with a catalogue besides English (for Discord's `*_localizations`). */
export const TRANSLATED_LOCALES = Object.keys(CATALOGUES).filter((locale) => locale !== 'en');

/** The catalogue for a Discord locale: exact match, then its language (`en-GB` → `en`), then English. */
export function catalogueFor(locale: string | null | undefined): Catalogue {
  if (!locale) return en;
  return CATALOGUES[locale] ?? CATALOGUES[locale.split('-')[0] ?? ''] ?? en;
}

/** The message `key` in `locale` (English when unknown), with `{name}` placeholders filled from `params`. */
export function t(locale: string | null | undefined, key: MessageKey, params: MessageParams = {}): string {
  const template = catalogueFor(locale)[key] ?? en[key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** The `{name}` placeholders of a message, sorted. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(/\{(\w+)\}/g)].map((match) => match[1] ?? '').sort();
}
