/**
 * The README's model table, made from the catalogue (`npm run models:table` prints it), so the
 * README cannot list values the bot does not take; test/docs/readme-models.test.ts compares them.
 */
import { generationCredits, formatCredits } from '../src/core/credits.js';
import { DEFAULT_ENABLED_MODEL_IDS, DEFAULT_MODEL_ID, MODEL_CATALOGUE, SERVICES, type ModelSpec } from '../src/core/models/catalogue.js';
import { describeValues } from '../src/core/models/model-options.js';

function weight(spec: ModelSpec): string {
  if (spec.price.kind === 'per_generation') return formatCredits(spec.price.credits);
  const unit = formatCredits(spec.price.creditsPerSecond);
  const example = spec.defaultDuration ?? spec.durations[0] ?? 10;
  return `${unit}/s (${example} s = ${formatCredits(generationCredits({ model: spec.id, duration: example }))})`;
}

function images(spec: ModelSpec): string {
  const { max, min, endFrame } = spec.images;
  const count = min > 0 ? `${min === max ? max : `${min}–${max}`} (required)` : String(max);
  return [count, endFrame ? '+ end frame' : undefined, spec.character ? '+ character video' : undefined].filter(Boolean).join(' ');
}

/** The Markdown table of every catalogued model. */
export function modelTable(): string {
  const rows = MODEL_CATALOGUE.map((spec) => {
    const id = spec.id === DEFAULT_MODEL_ID ? `\`${spec.id}\` (default)` : `\`${spec.id}\``;
    const on = DEFAULT_ENABLED_MODEL_IDS.includes(spec.id) ? 'on' : 'off';
    const durations = spec.durations.length > 0 ? describeValues(spec.durations) : '—';
    const orientations = spec.orientations.length > 0 ? spec.orientations.join(', ') : '—';
    const sizes = spec.sizes.length > 0 ? spec.sizes.join(', ') : '—';
    const premium = spec.premium ? ' ★' : '';
    return `| ${id}${premium} | ${spec.displayName} | ${SERVICES[spec.service].displayName} | ${on} | ${durations} | ${orientations} | ${sizes} | ${images(spec)} | ${weight(spec)} |`;
  });
  return [
    '| model | name | service | on by default | seconds | orientation | size | images | budget weight |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

if (process.argv[1]?.endsWith('model-table.ts')) console.log(modelTable());
