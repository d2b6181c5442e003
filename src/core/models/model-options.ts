import { UserFacingError } from '../user-facing-error.js';
import { ORIENTATIONS, type ModelSpec, type Orientation } from './catalogue.js';

/** What a member asked of the model's options (null or undefined: not chosen). */
export interface ModelOptionsAsk {
  duration?: number | null | undefined;
  orientation?: string | null | undefined;
  size?: string | null | undefined;
  imageCount: number;
  hasEndImage: boolean;
  hasCharacter: boolean;
  character?: { startSeconds: number | null | undefined; endSeconds: number | null | undefined } | undefined;
  negativePrompt?: string | null | undefined;
}

/** A server's defaults; each applies only when the chosen model takes that value. */
export interface ModelOptionDefaults {
  duration?: number | undefined;
  orientation?: string | undefined;
  size?: string | undefined;
}

/** The options a request carries for its model (absent where the model takes none). */
export interface ChosenModelOptions {
  duration?: number;
  orientation?: Orientation;
  size?: string;
  /** Where the character appears in its clip, defaults filled in. */
  characterSpan?: { startSeconds: number; endSeconds: number };
}

// The documented rule for Sora's character clip: it must last 1 to 3 seconds (docs/acedata-contract.md §2.2).
const CHARACTER_SPAN_SECONDS = { min: 1, max: 3 } as const;

/** Lists allowed values for people: `5, 10` or, for long runs of whole numbers, `3–15`. */
export function describeValues(values: readonly (string | number)[]): string {
  const numbers = values.filter((value): value is number => typeof value === 'number');
  if (numbers.length === values.length && numbers.length > 3) {
    const contiguous = numbers.every((value, index) => index === 0 || value === numbers[index - 1]! + 1);
    if (contiguous) return `${numbers[0]}–${numbers[numbers.length - 1]}`;
  }
  return values.join(', ');
}

/**
 * Checks the member's choices against the model's entry and fills in defaults: the server's where
 * the model takes them, else the model's own. Pure; a refusal names the values the model allows.
 */
export function chooseModelOptions(
  spec: ModelSpec,
  ask: ModelOptionsAsk,
  defaults: ModelOptionDefaults = {},
): { ok: true; options: ChosenModelOptions } | { ok: false; error: UserFacingError } {
  const fail = (key: ConstructorParameters<typeof UserFacingError>[1], params: Record<string, string | number> = {}) => ({
    ok: false as const,
    error: new UserFacingError('OPTION_INVALID', key, { model: spec.id, ...params }),
  });
  const options: ChosenModelOptions = {};

  const durations = ask.hasEndImage && spec.durationsWithEndFrame ? spec.durationsWithEndFrame : spec.durations;
  if (ask.duration !== null && ask.duration !== undefined) {
    if (spec.durations.length === 0) return fail('error.durationNotTaken');
    if (!durations.includes(ask.duration)) {
      const key = ask.hasEndImage && spec.durations.includes(ask.duration) ? 'error.durationWithEndFrame' : 'error.durationNotAllowed';
      return fail(key, { value: ask.duration, allowed: describeValues(durations) });
    }
    options.duration = ask.duration;
  } else if (durations.length > 0) {
    const serverDefault = defaults.duration;
    options.duration =
      serverDefault !== undefined && durations.includes(serverDefault)
        ? serverDefault
        : spec.defaultDuration !== undefined && durations.includes(spec.defaultDuration)
          ? spec.defaultDuration
          : durations[0]!;
  }

  if (ask.orientation !== null && ask.orientation !== undefined) {
    if (spec.orientations.length === 0) return fail('error.orientationNotTaken');
    const orientation = spec.orientations.find((value) => value === ask.orientation);
    if (!orientation) return fail('error.orientationNotAllowed', { value: ask.orientation, allowed: describeValues(spec.orientations) });
    options.orientation = orientation;
  } else if (spec.orientations.length > 0) {
    const serverDefault = spec.orientations.find((value) => value === defaults.orientation);
    options.orientation = serverDefault ?? spec.defaultOrientation ?? spec.orientations[0]!;
  }

  if (ask.size !== null && ask.size !== undefined) {
    if (spec.sizes.length === 0) return fail('error.sizeNotTaken');
    // Resolutions are typed both ways (`720P`, `720p`); compare without case, keep the catalogue's form.
    const size = spec.sizes.find((value) => value.toLowerCase() === ask.size!.trim().toLowerCase());
    if (!size) return fail('error.sizeNotAllowed', { value: ask.size, allowed: describeValues(spec.sizes) });
    options.size = size;
  } else if (spec.sizes.length > 0) {
    const serverDefault = spec.sizes.find((value) => value === defaults.size);
    options.size = serverDefault ?? spec.defaultSize ?? spec.sizes[0]!;
  }

  const { max, min, endFrame } = spec.images;
  if (ask.imageCount > max) {
    return fail(max === 0 ? 'error.imagesNotTaken' : 'error.tooManyImages', { max, count: ask.imageCount });
  }
  if (ask.imageCount < min) return fail('error.imageRequired', { min });
  if (ask.hasEndImage && !endFrame) return fail('error.endFrameNotTaken');
  if (ask.hasEndImage && ask.imageCount === 0) return fail('error.endFrameNeedsFirst');

  if (ask.hasCharacter) {
    if (!spec.character) return fail('error.characterNotTaken');
    const start = ask.character?.startSeconds ?? 0;
    const end = ask.character?.endSeconds ?? start + CHARACTER_SPAN_SECONDS.max;
    const span = end - start;
    if (start < 0 || span < CHARACTER_SPAN_SECONDS.min || span > CHARACTER_SPAN_SECONDS.max) {
      return fail('error.characterSpan', { start, end });
    }
    options.characterSpan = { startSeconds: start, endSeconds: end };
  } else if (ask.character?.startSeconds != null || ask.character?.endSeconds != null) {
    return fail('error.characterTimesWithoutVideo');
  }

  const negative = ask.negativePrompt?.trim();
  if (negative) {
    if (spec.negativePromptMaxChars === undefined) return fail('error.negativePromptNotTaken');
    const chars = [...negative].length;
    if (chars > spec.negativePromptMaxChars) {
      return fail('error.negativePromptTooLong', { length: chars, max: spec.negativePromptMaxChars });
    }
  }
  return { ok: true, options };
}

/** Whether a stored default orientation is one the bot knows (settings written by older versions). */
export function isOrientation(value: unknown): value is Orientation {
  return (ORIENTATIONS as readonly unknown[]).includes(value);
}
