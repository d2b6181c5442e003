import { describe, expect, it } from 'vitest';
import { soraCommand } from '../../../commands/sora.js';
import { generationCredits } from '../../../src/core/credits.js';
import {
  DEFAULT_ENABLED_MODEL_IDS,
  DEFAULT_MODEL_ID,
  MODEL_CATALOGUE,
  MODEL_IDS,
  ORIENTATIONS,
  SERVICES,
  findModel,
  serviceOf,
  wireModelFor,
} from '../../../src/core/models/catalogue.js';
import { chooseModelOptions, describeValues } from '../../../src/core/models/model-options.js';
import { suggestModelOptions } from '../../../src/discord/model-suggestions.js';

const noExtras = { imageCount: 0, hasEndImage: false, hasCharacter: false };

describe('model catalogue', () => {
  it('has unique ids, and every default is one of its own allowed values', () => {
    expect(new Set(MODEL_IDS).size).toBe(MODEL_IDS.length);
    for (const spec of MODEL_CATALOGUE) {
      if (spec.defaultDuration !== undefined) expect(spec.durations, spec.id).toContain(spec.defaultDuration);
      if (spec.defaultSize !== undefined) expect(spec.sizes, spec.id).toContain(spec.defaultSize);
      if (spec.defaultOrientation !== undefined) expect(spec.orientations, spec.id).toContain(spec.defaultOrientation);
      for (const orientation of spec.orientations) expect(ORIENTATIONS).toContain(orientation);
      expect(spec.images.min, spec.id).toBeLessThanOrEqual(spec.images.max);
      expect(spec.typicalGenerationMs, spec.id).toBeGreaterThan(0);
      expect(SERVICES[spec.service].submitPath).toBe(`${spec.service}/videos`);
      expect(serviceOf(spec.id).tasksPath).toBe(`${spec.service}/tasks`);
      expect(generationCredits({ model: spec.id, duration: spec.defaultDuration }), spec.id).toBeGreaterThan(0);
    }
  });

  it('defaults a fresh install to a served model, with Sora off but still catalogued', () => {
    expect(DEFAULT_ENABLED_MODEL_IDS).toContain(DEFAULT_MODEL_ID);
    expect(findModel(DEFAULT_MODEL_ID)?.service).not.toBe('sora');
    expect(DEFAULT_ENABLED_MODEL_IDS.some((id) => findModel(id)?.service === 'sora')).toBe(false);
    expect(MODEL_IDS).toEqual(expect.arrayContaining(['sora-2', 'sora-2-pro', 'sora-2-v2']));
    // At least four services beside Sora.
    expect(new Set(DEFAULT_ENABLED_MODEL_IDS.map((id) => findModel(id)!.service)).size).toBeGreaterThanOrEqual(4);
  });

  it('picks the image wire model where a service has one (Hailuo, Wan)', () => {
    const hailuo = findModel('hailuo')!;
    expect(wireModelFor(hailuo, false)).toBe('minimax-t2v');
    expect(wireModelFor(hailuo, true)).toBe('minimax-i2v');
    expect(wireModelFor(findModel('veo31-fast')!, true)).toBe('veo31-fast');
  });

  it('keeps the budget weights of Sora: sora-2 10 s = 1, pro ×10, in proportion to length', () => {
    expect(generationCredits({ model: 'sora-2', duration: 10 })).toBe(1);
    expect(generationCredits({ model: 'sora-2', duration: 15 })).toBe(1.5);
    expect(generationCredits({ model: 'sora-2-pro', duration: 25 })).toBe(25);
    // A per-generation model costs the same whatever its options.
    expect(generationCredits({ model: 'veo31-fast' })).toBe(generationCredits({ model: 'veo31-fast', duration: 99 }));
    expect(generationCredits({ model: 'gone-model', duration: 10 })).toBe(1);
  });
});

describe('the catalogue is the only list of a model’s options', () => {
  it.each(MODEL_CATALOGUE.map((spec) => [spec.id, spec] as const))('%s: validation accepts exactly its values', (_id, spec) => {
    for (const duration of spec.durations) {
      const result = chooseModelOptions(spec, { ...noExtras, imageCount: spec.images.min, duration });
      expect(result.ok && result.options.duration, `${spec.id} ${duration}`).toBe(duration);
    }
    for (const size of spec.sizes) {
      const result = chooseModelOptions(spec, { ...noExtras, imageCount: spec.images.min, size });
      expect(result.ok && result.options.size).toBe(size);
    }
    for (const orientation of ORIENTATIONS) {
      const result = chooseModelOptions(spec, { ...noExtras, imageCount: spec.images.min, orientation });
      expect(result.ok, `${spec.id} ${orientation}`).toBe(spec.orientations.includes(orientation));
    }
    // A value no model has is refused, and the refusal names what this model allows.
    const badDuration = chooseModelOptions(spec, { ...noExtras, imageCount: spec.images.min, duration: 999 });
    expect(badDuration.ok).toBe(false);
    if (!badDuration.ok && spec.durations.length > 0) expect(badDuration.error.message).toContain(describeValues(spec.durations));
    const badSize = chooseModelOptions(spec, { ...noExtras, imageCount: spec.images.min, size: 'huge' });
    expect(badSize.ok).toBe(false);
    if (!badSize.ok && spec.sizes.length > 0) expect(badSize.error.message).toContain(describeValues(spec.sizes));
    // With nothing chosen, the model's own defaults (and nothing it does not take).
    const plain = chooseModelOptions(spec, { ...noExtras, imageCount: spec.images.min });
    expect(plain.ok && plain.options).toEqual({
      ...(spec.durations.length > 0 ? { duration: spec.defaultDuration ?? spec.durations[0] } : {}),
      ...(spec.orientations.length > 0 ? { orientation: spec.defaultOrientation ?? spec.orientations[0] } : {}),
      ...(spec.sizes.length > 0 ? { size: spec.defaultSize ?? spec.sizes[0] } : {}),
    });
  });

  it.each(MODEL_CATALOGUE.map((spec) => [spec.id, spec] as const))('%s: autocomplete offers exactly its values', (_id, spec) => {
    const rules = { offeredModelIds: MODEL_IDS, defaults: { model: DEFAULT_MODEL_ID } };
    expect(suggestModelOptions('duration', '', spec.id, rules).map((c) => c.value)).toEqual(spec.durations.slice(0, 25));
    expect(suggestModelOptions('size', '', spec.id, rules).map((c) => c.value)).toEqual(spec.sizes);
  });

  it('autocomplete lists the offered models only, with the default and unserved ones marked', () => {
    const rules = {
      offeredModelIds: ['veo31-fast', 'kling-v2-6', 'sora-2'],
      defaults: { model: 'veo31-fast' },
      unavailableModelIds: new Set(['sora-2']),
    };
    const choices = suggestModelOptions('model', '', null, rules);
    expect(choices.map((c) => c.value)).toEqual(['veo31-fast', 'kling-v2-6', 'sora-2']);
    expect(choices[0]!.name).toContain('default');
    expect(choices[2]!.name).toContain('not served');
    expect(suggestModelOptions('model', 'kli', null, rules).map((c) => c.value)).toEqual(['kling-v2-6']);
    // A model not offered here falls back to the server's default for its values.
    expect(suggestModelOptions('size', '', 'seedance-2-0', rules).map((c) => c.value)).toEqual(findModel('veo31-fast')!.sizes);
  });

  it('size choices name what a word size means and a pixel size its orientation, in the member’s language', () => {
    const rules = { offeredModelIds: MODEL_IDS, defaults: { model: DEFAULT_MODEL_ID } };
    const names = (model: string, locale?: string) => suggestModelOptions('size', '', model, rules, locale).map((c) => c.name);
    expect(names('sora-2')).toEqual(['small · standard definition', 'large · HD']);
    expect(names('sora-2-v2')).toContain('1280x720 · landscape');
    expect(names('sora-2-v2')).toContain('720x1280 · portrait');
    expect(names('sora-2-v2', 'ja')).toContain('720x1280 · 縦向き');
    expect(names('kling-v2-6', 'zh-CN')).toEqual(expect.arrayContaining(['std · 标准模式', 'pro · 专业模式']));
    expect(names('veo31-fast').every((name) => !name.includes('·'))).toBe(true);
  });

  it('/sora generate takes model, duration and size by autocomplete and orientation from the catalogue', () => {
    const generate = soraCommand.data.options?.find((o) => o.name === 'generate') as unknown as { options: Array<Record<string, unknown>> };
    const option = (name: string) => generate.options.find((o) => o.name === name)!;
    for (const name of ['model', 'duration', 'size']) {
      expect(option(name).autocomplete, name).toBe(true);
      expect(option(name).choices, name).toBeUndefined();
    }
    expect((option('orientation').choices as Array<{ value: string }>).map((c) => c.value)).toEqual([...ORIENTATIONS]);
    for (const name of ['image', 'image2', 'image3', 'end_image', 'character', 'character_start', 'character_end', 'avoid']) {
      expect(option(name), name).toBeDefined();
    }
    // The most images any model takes fits the image options.
    const imageOptions = ['image', 'image2', 'image3'].length;
    expect(Math.max(...MODEL_CATALOGUE.map((spec) => spec.images.max))).toBeLessThanOrEqual(imageOptions);
  });
});

describe('chooseModelOptions', () => {
  const kling = findModel('kling-v2-6')!;
  const sora = findModel('sora-2')!;

  it('applies a server default only where the model takes it', () => {
    const result = chooseModelOptions(findModel('veo31-fast')!, noExtras, { duration: 15, size: '1080p', orientation: 'portrait' });
    expect(result.ok && result.options).toEqual({ orientation: 'portrait', size: '1080p' });
    const kling15 = chooseModelOptions(kling, noExtras, { duration: 15 });
    expect(kling15.ok && kling15.options.duration).toBe(5);
  });

  it('refuses options a model does not take', () => {
    const veo = findModel('veo31-fast')!;
    const noDuration = chooseModelOptions(veo, { ...noExtras, duration: 8 });
    expect(!noDuration.ok && noDuration.error.key).toBe('error.durationNotTaken');
    const noSize = chooseModelOptions(findModel('hailuo')!, { ...noExtras, size: '720p' });
    expect(!noSize.ok && noSize.error.key).toBe('error.sizeNotTaken');
    const negative = chooseModelOptions(veo, { ...noExtras, negativePrompt: 'blur' });
    expect(!negative.ok && negative.error.key).toBe('error.negativePromptNotTaken');
    const character = chooseModelOptions(kling, { ...noExtras, hasCharacter: true });
    expect(!character.ok && character.error.key).toBe('error.characterNotTaken');
  });

  it('checks images: too many, required, and an end frame', () => {
    const tooMany = chooseModelOptions(kling, { ...noExtras, imageCount: 2 });
    expect(!tooMany.ok && tooMany.error.message).toContain('at most 1');
    const required = chooseModelOptions(findModel('veo31-fast-ingredients')!, noExtras);
    expect(!required.ok && required.error.key).toBe('error.imageRequired');
    const endOnly = chooseModelOptions(kling, { ...noExtras, hasEndImage: true });
    expect(!endOnly.ok && endOnly.error.key).toBe('error.endFrameNeedsFirst');
    const endOnSora = chooseModelOptions(sora, { ...noExtras, imageCount: 1, hasEndImage: true });
    expect(!endOnSora.ok && endOnSora.error.key).toBe('error.endFrameNotTaken');
    // Kling with an end frame makes 5 s only.
    const kling10 = chooseModelOptions(kling, { ...noExtras, imageCount: 1, hasEndImage: true, duration: 10 });
    expect(!kling10.ok && kling10.error.key).toBe('error.durationWithEndFrame');
  });

  it('checks the Sora character span (1 to 3 s) and fills in its defaults', () => {
    const ok = chooseModelOptions(sora, { ...noExtras, hasCharacter: true, character: { startSeconds: 2, endSeconds: 4 } });
    expect(ok.ok && ok.options.characterSpan).toEqual({ startSeconds: 2, endSeconds: 4 });
    const defaults = chooseModelOptions(sora, { ...noExtras, hasCharacter: true });
    expect(defaults.ok && defaults.options.characterSpan).toEqual({ startSeconds: 0, endSeconds: 3 });
    const tooLong = chooseModelOptions(sora, { ...noExtras, hasCharacter: true, character: { startSeconds: 1, endSeconds: 6 } });
    expect(!tooLong.ok && tooLong.error.key).toBe('error.characterSpan');
    const timesOnly = chooseModelOptions(sora, { ...noExtras, character: { startSeconds: 1, endSeconds: 2 } });
    expect(!timesOnly.ok && timesOnly.error.key).toBe('error.characterTimesWithoutVideo');
  });

  it('matches sizes without case and lists long runs as a range', () => {
    const wan = chooseModelOptions(findModel('wan2.6')!, { ...noExtras, size: '720P' });
    expect(wan.ok && wan.options.size).toBe('720p');
    expect(describeValues([3, 4, 5, 6, 7])).toBe('3–7');
    expect(describeValues([5, 10])).toBe('5, 10');
  });
});
