import { describe, expect, it } from 'vitest';
import { commands } from '../../commands/index.js';
import { en } from '../../src/i18n/en.js';
import { CATALOGUES, placeholdersOf, t, TRANSLATED_LOCALES } from '../../src/i18n/index.js';

describe('message catalogues', () => {
  const englishKeys = Object.keys(en).sort();

  it.each(Object.entries(CATALOGUES))('%s has exactly the English keys', (_locale, catalogue) => {
    expect(Object.keys(catalogue).sort()).toEqual(englishKeys);
  });

  it.each(Object.entries(CATALOGUES))('%s uses the same {placeholders} as English in every message', (_locale, catalogue) => {
    const mismatched = englishKeys.filter(
      (key) => placeholdersOf((catalogue as Record<string, string>)[key] ?? '').join() !== placeholdersOf((en as Record<string, string>)[key] ?? '').join(),
    );
    expect(mismatched).toEqual([]);
  });

  it('translates into Chinese and Japanese and falls back to English for unknown locales', () => {
    expect(t('zh-CN', 'history.title')).toBe('你最近的视频');
    expect(t('ja', 'history.title')).toBe('最近の動画');
    expect(t('en-GB', 'history.title')).toBe('Your recent videos');
    expect(t('fr', 'error.taskNotFound', { id: 'abc' })).toBe('No task `abc` in this server.');
    expect(t('zh-TW', 'history.title')).toBe('Your recent videos');
    expect(t(undefined, 'history.title')).toBe('Your recent videos');
  });

  it('fills placeholders without reading placeholders inside the values', () => {
    expect(t('en', 'error.promptTooLong', { length: 5, max: '{length}' })).toBe(
      'The prompt is 5 characters long; the limit is {length}.',
    );
  });
});

interface Node {
  name: string;
  description?: string;
  description_localizations?: Record<string, string> | null;
  options?: Node[];
}

describe('command localizations', () => {
  const nodes: { path: string; node: Node }[] = [];
  const walk = (node: Node, path: string) => {
    nodes.push({ path, node });
    for (const option of node.options ?? []) walk(option, `${path}.${option.name}`);
  };
  for (const command of commands) walk(command.data as Node, `cmd.${command.data.name}`);

  it('covers every command, subcommand and option', () => {
    expect(nodes.length).toBeGreaterThan(40);
    for (const { path, node } of nodes) {
      for (const locale of TRANSLATED_LOCALES) {
        expect(node.description_localizations?.[locale], `${path} in ${locale}`).toBeTruthy();
        expect(node.description_localizations?.[locale]?.length ?? 0, `${path} in ${locale}`).toBeLessThanOrEqual(100);
      }
    }
  });

  it('keeps the English catalogue in step with the builders', () => {
    for (const { path, node } of nodes) expect((en as Record<string, string>)[path], path).toBe(node.description);
  });

  it('keeps the English command names', () => {
    expect(commands.map((c) => c.data.name)).toEqual(['sora', 'sora-admin']);
    expect(commands[0]!.data.description_localizations?.['zh-CN']).toBe('使用 Sora 制作 AI 视频');
  });
});
