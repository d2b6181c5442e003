import type { APIApplicationCommandOptionChoice } from 'discord.js';
import { findModel, type ModelSpec } from '../core/models/catalogue.js';
import type { PreflightRules } from '../core/preflight.js';
import { t } from '../i18n/index.js';

/** The `/sora generate` options answered by autocomplete. */
export type SuggestedOption = 'model' | 'duration' | 'size';

// Discord's limits on an autocomplete answer: 25 choices, names of at most 100 characters.
const MAX_CHOICES = 25;
const CHOICE_NAME_MAX = 100;

/**
 * Autocomplete choices for one generate option: the server's models (those not served now marked),
 * or the durations / sizes the chosen model (else the server's default) allows. Pure.
 */
export function suggestModelOptions(
  option: SuggestedOption,
  typed: string,
  chosenModel: string | null,
  rules: Pick<PreflightRules, 'offeredModelIds' | 'defaults' | 'unavailableModelIds'>,
  locale?: string | null,
): APIApplicationCommandOptionChoice[] {
  const needle = typed.trim().toLowerCase();
  if (option === 'model') {
    return rules.offeredModelIds
      .map((id) => findModel(id))
      .filter((spec): spec is ModelSpec => spec !== undefined)
      .filter((spec) => needle === '' || spec.id.toLowerCase().includes(needle) || spec.displayName.toLowerCase().includes(needle))
      .slice(0, MAX_CHOICES)
      .map((spec) => ({ name: fit(modelChoiceName(spec, rules, locale)), value: spec.id }));
  }
  const spec = modelFor(chosenModel, rules);
  if (!spec) return [];
  if (option === 'duration') {
    return spec.durations
      .filter((seconds) => needle === '' || String(seconds).startsWith(needle))
      .slice(0, MAX_CHOICES)
      .map((seconds) => ({ name: t(locale, 'choice.seconds', { seconds }), value: seconds }));
  }
  return spec.sizes
    .filter((size) => needle === '' || size.toLowerCase().includes(needle))
    .slice(0, MAX_CHOICES)
    .map((size) => ({ name: fit(sizeChoiceName(size, locale)), value: size }));
}

// Sizes that are words (Sora v1, Kling's mode) get a localized hint; pixel sizes their orientation.
const SIZE_HINT_KEYS = {
  small: 'choice.size.small',
  large: 'choice.size.large',
  std: 'choice.size.std',
  pro: 'choice.size.pro',
} as const;

function sizeChoiceName(size: string, locale?: string | null): string {
  const key = SIZE_HINT_KEYS[size as keyof typeof SIZE_HINT_KEYS];
  if (key) return `${size} · ${t(locale, key)}`;
  const pixels = /^(\d+)x(\d+)$/.exec(size);
  if (!pixels) return size;
  const [width, height] = [Number(pixels[1]), Number(pixels[2])];
  const orientation = width > height ? 'landscape' : width < height ? 'portrait' : 'square';
  return `${size} · ${t(locale, `choice.orientation.${orientation}`)}`;
}

function modelChoiceName(spec: ModelSpec, rules: Pick<PreflightRules, 'defaults' | 'unavailableModelIds'>, locale?: string | null): string {
  const marks = [
    spec.id === rules.defaults.model ? t(locale, 'choice.modelDefault') : undefined,
    rules.unavailableModelIds?.has(spec.id) ? t(locale, 'choice.modelUnavailable') : undefined,
  ].filter((mark) => mark !== undefined);
  return [`${spec.displayName} (${spec.id})`, ...marks].join(' · ');
}

// What the member picked, if it is a model here; else what a command without `model` would use.
function modelFor(chosen: string | null, rules: Pick<PreflightRules, 'offeredModelIds' | 'defaults'>): ModelSpec | undefined {
  const picked = findModel(chosen?.trim());
  if (picked && rules.offeredModelIds.includes(picked.id)) return picked;
  const fallback = rules.offeredModelIds.includes(rules.defaults.model) ? rules.defaults.model : rules.offeredModelIds[0];
  return findModel(fallback);
}

function fit(name: string): string {
  return name.length <= CHOICE_NAME_MAX ? name : `${name.slice(0, CHOICE_NAME_MAX - 1)}…`;
}
