import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { modelTable } from '../../scripts/model-table.js';

describe('README', () => {
  it('lists the models exactly as the catalogue has them (npm run models:table)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = /<!-- models:start -->\n([\s\S]*?)\n<!-- models:end -->/.exec(readme)?.[1];
    expect(section, 'the README has a models section').toBeDefined();
    expect(section).toBe(modelTable());
  });
});
