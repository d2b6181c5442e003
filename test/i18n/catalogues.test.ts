import { describe, expect, it } from 'vitest';
import { commands, messageCommands } from '../../commands/index.js';
import { en } from '../../src/i18n/en.js';
import { CATALOGUES, placeholdersOf, t, TRANSLATED_LOCALES } from '../../src/i18n/index.js';

describe('message catalogues', () => {
  const englishKeys = Object.keys(en).sort();

  it.each(Object.entries(CATALOGUES))('%s has exactly the English keys', (_locale, catalogue) => {
    expect(Object.keys(catalogue).sort()).toEqual(englishKeys);
  });

  it.each(Object.entries(CATALOGUES))('%s uses the same {placeholders} as English in every message', (_locale, catalogue) => {
    const mismatched = englishKeys.filter(
      (key) =>
        placeholdersOf((catalogue as Record<string, string>)[key] ?? '').join() !==
        placeholdersOf((en as Record<string, string>)[key] ?? '').join(),
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
    expect(t('en', 'error.promptTooLong', { length: 5, max: '{length}' })).toBe('The prompt is 5 characters long; the limit is {length}.');
  });
});

interface Node {
  name: string;
  description?: string;
  description_localizations?: Record<string, string> | null;
  options?: Node[];
  choices?: { name: string; value: string | number; name_localizations?: Record<string, string> | null }[];
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

  it('localizes the name of every option choice (e.g. "10 seconds"), keeping English in step with the builders', () => {
    const withChoices = nodes.filter(({ node }) => (node.choices?.length ?? 0) > 0);
    // Orientation (/sora generate, /sora-admin defaults) and /sora-admin limits reset; model, duration
    // and size come from the model catalogue by autocomplete (choices are fixed at registration).
    expect(withChoices.map(({ path }) => path).sort()).toEqual(
      ['cmd.sora.generate.orientation', 'cmd.sora-admin.defaults.orientation', 'cmd.sora-admin.limits.reset'].sort(),
    );
    for (const { path, node } of withChoices) {
      for (const choice of node.choices ?? []) {
        const key = `choice.${node.name}.${choice.value}`;
        expect((en as Record<string, string>)[key], `${path} ${key}`).toBe(choice.name);
        for (const locale of TRANSLATED_LOCALES) {
          const name = choice.name_localizations?.[locale];
          expect(name, `${key} in ${locale}`).toBeTruthy();
          expect(name!.length, `${key} in ${locale}`).toBeLessThanOrEqual(100);
        }
      }
    }
    const orientation = withChoices.find(({ path }) => path === 'cmd.sora-admin.defaults.orientation')!.node.choices!;
    expect(orientation.map((c) => c.name_localizations?.ja)).toEqual(['横向き', '縦向き', '正方形']);
  });

  it('localizes the name of every message (context-menu) command', () => {
    for (const command of messageCommands) {
      for (const locale of TRANSLATED_LOCALES) {
        const name = command.data.name_localizations?.[locale as 'ja'];
        expect(name, `${command.data.name} in ${locale}`).toBeTruthy();
        // Message command names may hold spaces and capitals, at most 32 characters.
        expect(name!.length).toBeLessThanOrEqual(32);
      }
    }
    expect(messageCommands.map((c) => c.data.name_localizations?.['zh-CN'])).toEqual(['用 Sora 制作动画']);
  });

  it('keeps the English command names', () => {
    expect(commands.map((c) => c.data.name)).toEqual(['sora', 'sora-admin']);
    expect(commands[0]!.data.description_localizations?.['zh-CN']).toBe('制作 AI 视频（Veo、Kling、Seedance、Sora 等）');
  });
});
