import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MODEL_CATALOGUE,
  SERVICE_IDS,
  modelSpec,
  wireModelFor,
  type ModelSpec,
  type Orientation,
  type ServiceId,
} from '../../src/core/models/catalogue.js';
import type { GenerationRequest } from '../../src/core/task.js';
import { SERVICE_WIRES, planSubmit, wireFor } from '../../src/sora/services/index.js';
import { toSubmitBody } from '../../src/sora/video-api.js';

type Body = Record<string, unknown>;

function fixture(service: ServiceId, name: string): Body {
  return JSON.parse(readFileSync(new URL(`../fixtures/${service}/${name}`, import.meta.url), 'utf8')) as Body;
}

/** The body a model's service posts for a request (what the VideoApi sends, before `async`). */
function bodyOf(request: GenerationRequest): Body {
  const spec = modelSpec(request.model);
  return wireFor(spec.service).toSubmitBody(request, spec);
}

/** A copy of a body without some fields. */
function omit(body: Body, ...keys: string[]): Body {
  return Object.fromEntries(Object.entries(body).filter(([key]) => !keys.includes(key)));
}

/** The body without `async` (the client adds it, not the wire mapping). */
function withoutAsync(body: Body): Body {
  return omit(body, 'async');
}

describe('the registry', () => {
  it('has one wire mapping per service', () => {
    expect(Object.keys(SERVICE_WIRES).sort()).toEqual([...SERVICE_IDS].sort());
  });

  it('plans a submit to the model’s service, and nothing for a model not in the catalogue', () => {
    const plan = planSubmit({ prompt: 'p', model: 'kling-v3', duration: 7 });
    expect(plan?.service.submitPath).toBe('kling/videos');
    expect(plan?.spec.id).toBe('kling-v3');
    expect(plan?.body).toMatchObject({ model: 'kling-v3', duration: 7 });
    expect(planSubmit({ prompt: 'p', model: 'no-such-model' })).toBeUndefined();
    expect(() => toSubmitBody({ prompt: 'p', model: 'no-such-model' })).toThrow(/not in the catalogue/);
  });
});

describe('Sora', () => {
  it('v1 text: the documented body, in the field order the bot always sent (no version)', () => {
    const body = bodyOf({ prompt: 'cat running on the river', model: 'sora-2', duration: 15, orientation: 'landscape', size: 'large' });
    expect(body).toEqual(fixture('sora', 'videos-request-text-v1.json'));
    expect(Object.keys(body)).toEqual(['prompt', 'model', 'duration', 'orientation', 'size']);
    expect(JSON.stringify({ ...body, async: true })).toBe(
      '{"prompt":"cat running on the river","model":"sora-2","duration":15,"orientation":"landscape","size":"large","async":true}',
    );
  });

  it('v1 image and character', () => {
    expect(
      bodyOf({
        prompt: 'cat running on the river',
        model: 'sora-2',
        duration: 15,
        orientation: 'landscape',
        size: 'large',
        imageUrl: 'https://cdn.acedata.cloud/11wfp4.png',
      }),
    ).toEqual(fixture('sora', 'videos-request-image-v1.json'));
    expect(
      bodyOf({
        prompt: 'cat running on the river',
        model: 'sora-2',
        duration: 10,
        orientation: 'landscape',
        size: 'small',
        character: { videoUrl: 'https://cdn.acedata.cloud/pdidf5.mp4', startSeconds: 1, endSeconds: 3 },
      }),
    ).toEqual(fixture('sora', 'videos-request-character-v1.json'));
  });

  it('v1 sends every reference image, first one first', () => {
    const body = bodyOf({
      prompt: 'p',
      model: 'sora-2-pro',
      imageUrl: 'https://i/1.png',
      extraImageUrls: ['https://i/2.png', 'https://i/3.png'],
    });
    expect(body.image_urls).toEqual(['https://i/1.png', 'https://i/2.png', 'https://i/3.png']);
    expect(body.model).toBe('sora-2-pro');
  });

  it('v2: version "2.0", pixel size, only the first image, no orientation', () => {
    expect(
      bodyOf({ prompt: 'cat running on the river', model: 'sora-2-v2', duration: 8, size: '1280x720', orientation: 'portrait' }),
    ).toEqual(fixture('sora', 'videos-request-v2.json'));
    expect(
      bodyOf({
        prompt: 'a person walking through a beautiful garden',
        model: 'sora-2-v2',
        duration: 4,
        size: '1280x720',
        imageUrl: 'https://cdn.acedata.cloud/11wfp4.png',
        extraImageUrls: ['https://i/ignored.png'],
      }),
    ).toEqual(fixture('sora', 'videos-request-v2-image.json'));
  });
});

describe('Veo', () => {
  it('text: action text2video, the catalogue model, the aspect ratio, no resolution at 720p', () => {
    const text = fixture('veo', 'videos-request-text.json');
    expect(bodyOf({ prompt: text.prompt as string, model: 'veo31-fast', orientation: 'landscape', size: '720p' })).toEqual({
      ...text,
      model: 'veo31-fast',
      aspect_ratio: '16:9',
    });
  });

  it('image: action image2video with image_urls; 1080p and 4k as resolution', () => {
    const image = fixture('veo', 'videos-request-image.json');
    expect(
      bodyOf({
        prompt: 'Let it dance',
        model: 'veo3',
        imageUrl: 'https://cdn.acedata.cloud/7p1jhy.png',
        orientation: 'portrait',
        size: '1080p',
      }),
    ).toEqual({
      ...image,
      model: 'veo3',
      aspect_ratio: '9:16',
      resolution: '1080p',
    });
    expect(bodyOf({ prompt: 'p', model: 'veo31', size: '4k' }).resolution).toBe('4k');
  });

  it('first and last frame: image_urls [first, last]', () => {
    const spec = modelSpec('veo31-fast');
    if (!spec.images.endFrame) return; // the catalogue decides whether Veo takes an end frame
    expect(bodyOf({ prompt: 'p', model: 'veo31-fast', imageUrl: 'https://i/first', endImageUrl: 'https://i/last' }).image_urls).toEqual([
      'https://i/first',
      'https://i/last',
    ]);
    // A last frame alone is not sent: Veo would read it as the first.
    expect(bodyOf({ prompt: 'p', model: 'veo31-fast', endImageUrl: 'https://i/last' })).not.toHaveProperty('image_urls');
  });

  it('sends at most three images, with the ingredients action for the ingredients model', () => {
    const body = bodyOf({
      prompt: 'p',
      model: 'veo31-fast-ingredients',
      imageUrl: 'https://i/1',
      extraImageUrls: ['https://i/2', 'https://i/3', 'https://i/4'],
    });
    expect(body.image_urls).toEqual(['https://i/1', 'https://i/2', 'https://i/3']);
    expect(body.action).toBe('ingredients2video');
    expect(bodyOf({ prompt: 'p', model: 'veo31-fast', imageUrl: 'https://i/1' }).action).toBe('image2video');
  });
});

describe('Kling', () => {
  it('text: the documented fields plus duration, aspect ratio and mode', () => {
    expect({ ...withoutAsync(fixture('kling', 'videos-request-async-inferred.json')), model: 'kling-v2-6' }).toEqual(
      bodyOf({
        prompt: 'White ceramic coffee mug on glossy marble countertop with morning window light.',
        model: 'kling-v2-6',
        duration: 5,
        orientation: 'landscape',
        size: 'std',
      }),
    );
    const text = fixture('kling', 'videos-request-text.json');
    expect(bodyOf({ prompt: text.prompt as string, model: 'kling-v2-6' })).toEqual({
      ...text,
      model: 'kling-v2-6',
      duration: 5,
      aspect_ratio: '16:9',
      mode: 'std',
    });
  });

  it('image: start and end frame', () => {
    expect(
      bodyOf({
        prompt: 'Let it dance',
        model: 'kling-v2-5-turbo',
        duration: 5,
        orientation: 'landscape',
        size: 'std',
        imageUrl: 'https://cdn.acedata.cloud/7p1jhy.png',
        endImageUrl: 'https://cdn.acedata.cloud/7p1jhy.png',
      }),
    ).toEqual(fixture('kling', 'videos-request-image-inferred.json'));
  });

  it('negative prompt, pro mode, square', () => {
    expect(bodyOf({ prompt: 'p', model: 'kling-v3', duration: 12, orientation: 'square', size: 'pro', negativePrompt: 'blur' })).toEqual({
      action: 'text2video',
      model: 'kling-v3',
      prompt: 'p',
      duration: 12,
      aspect_ratio: '1:1',
      mode: 'pro',
      negative_prompt: 'blur',
    });
  });
});

describe('Seedance', () => {
  it('text: the guide’s body (content[], resolution, ratio, duration)', () => {
    const guide = fixture('seedance', 'videos-request-text-guide.json');
    const text = (guide.content as { text: string }[])[0]!.text;
    expect(bodyOf({ prompt: text, model: 'seedance-2-0-fast', duration: 5, orientation: 'landscape', size: '720p' })).toEqual(guide);
  });

  it('first and last frame as content items with their roles', () => {
    const frames = fixture('seedance', 'videos-request-first-last-frame.json');
    expect(
      bodyOf({
        prompt: '360-degree shot',
        model: 'seedance-1-0-pro',
        imageUrl: 'https://ark-project.tos-cn-beijing.volces.com/doc_image/seepro_first_frame.jpeg',
        endImageUrl: 'https://ark-project.tos-cn-beijing.volces.com/doc_image/seepro_last_frame.jpeg',
      }),
    ).toEqual({ ...frames, resolution: '720p', ratio: '16:9', duration: 5 });
  });

  it('maps a portrait 1080p request', () => {
    expect(bodyOf({ prompt: 'p', model: 'seedance-1-5-pro', duration: 12, orientation: 'portrait', size: '1080p' })).toMatchObject({
      model: 'doubao-seedance-1-5-pro-251215',
      resolution: '1080p',
      ratio: '9:16',
      duration: 12,
    });
  });
});

describe('Hailuo', () => {
  it('text: action generate with minimax-t2v', () => {
    expect(bodyOf({ prompt: 'Internal heat', model: 'hailuo' })).toEqual(withoutAsync(fixture('hailuo', 'videos-request-async.json')));
  });

  it('image: the i2v model and first_image_url', () => {
    expect(bodyOf({ prompt: 'Let it dance', model: 'hailuo', imageUrl: 'https://cdn.acedata.cloud/7p1jhy.png' })).toEqual(
      fixture('hailuo', 'videos-request-image-inferred.json'),
    );
  });
});

describe('Wan', () => {
  it('text: the guide’s body plus the resolution in upper case', () => {
    expect(bodyOf({ prompt: 'Astronauts shuttle from space to volcano', model: 'wan2.6', duration: 5, size: '720p' })).toEqual({
      ...fixture('wan', 'videos-request-text.json'),
      resolution: '720P',
    });
  });

  it('image: image2video with the i2v model and image_url', () => {
    const image = omit(fixture('wan', 'videos-request-image.json'), 'callback_url');
    expect(
      bodyOf({
        prompt: 'Astronauts shuttle from space to volcano',
        model: 'wan2.6',
        duration: 5,
        imageUrl: 'https://cdn.acedata.cloud/r9vsv9.png',
      }),
    ).toEqual({ ...image, resolution: '720P' });
  });

  it('negative prompt; no shot_type, audio or prompt_extend', () => {
    const full = omit(fixture('wan', 'videos-request-full-inferred.json'), 'async', 'shot_type', 'audio', 'prompt_extend');
    expect(
      bodyOf({ prompt: 'Astronauts shuttle from space to volcano', model: 'wan2.6', duration: 5, size: '720p', negativePrompt: 'blurry' }),
    ).toEqual(full);
  });

  it('the flash model is image to video with its own wire model', () => {
    expect(bodyOf({ prompt: 'p', model: 'wan2.6-flash', imageUrl: 'https://i/1', size: '1080p', duration: 10 })).toEqual({
      action: 'image2video',
      model: 'wan2.6-i2v-flash',
      prompt: 'p',
      duration: 10,
      resolution: '1080P',
      image_url: 'https://i/1',
    });
  });
});

describe('Luma', () => {
  it('text: action generate and the aspect ratio, no model field', () => {
    expect(bodyOf({ prompt: 'Astronauts shuttle from space to volcano', model: 'luma', orientation: 'landscape' })).toEqual({
      ...fixture('luma', 'videos-request-text.json'),
      aspect_ratio: '16:9',
    });
    expect(bodyOf({ prompt: 'p', model: 'luma' })).not.toHaveProperty('model');
  });

  it('image: start and end frame', () => {
    expect(
      bodyOf({
        prompt: 'Astronauts shuttle from space to volcano',
        model: 'luma',
        orientation: 'square',
        imageUrl: 'https://cdn.acedata.cloud/r9vsv9.png',
      }),
    ).toEqual({ ...fixture('luma', 'videos-request-image.json'), aspect_ratio: '1:1' });
    expect(bodyOf({ prompt: 'p', model: 'luma', imageUrl: 'https://i/1', endImageUrl: 'https://i/2' })).toMatchObject({
      start_image_url: 'https://i/1',
      end_image_url: 'https://i/2',
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Every catalogue entry: each option the model takes reaches the body under its service's field
// name, and an option the model does not take changes nothing. The readers below are written from
// the contracts (video-apis.md, sora-api.md), independently of src/sora/services/, so the catalogue
// and the wire bodies cannot drift apart silently.

type Option = 'duration' | 'orientation' | 'size' | 'images' | 'endImage' | 'negativePrompt' | 'character';

const ASPECT: Record<Orientation, string> = { landscape: '16:9', portrait: '9:16', square: '1:1' };

interface Reader {
  /** Reads the option back from a body, in the request's terms. */
  read(body: Body, spec: ModelSpec): unknown;
  /** What the request's value looks like on the wire. */
  expect?(value: unknown, spec: ModelSpec): unknown;
}

const contentImage = (role: string) => (body: Body) =>
  (body.content as { type: string; role?: string; image_url?: { url: string } }[]).find(
    (part) => part.type === 'image_url' && part.role === role,
  )?.image_url?.url;
const field = (name: string): Reader => ({ read: (body) => body[name] });
const firstImage = (name: string): Reader => ({ read: (body) => body[name], expect: (value) => (value as string[])[0] });
const aspect = (name: string): Reader => ({ read: (body) => body[name], expect: (value) => ASPECT[value as Orientation] });

const READERS: Record<ServiceId, Partial<Record<Option, Reader>>> = {
  sora: {
    duration: field('duration'),
    orientation: field('orientation'),
    size: field('size'),
    images: {
      read: (body) => body.image_urls,
      expect: (value, spec) => (spec.soraVersion === '2.0' ? (value as string[]).slice(0, 1) : value),
    },
    character: {
      read: (body) =>
        body.character_url === undefined
          ? undefined
          : { videoUrl: body.character_url, startSeconds: body.character_start, endSeconds: body.character_end },
    },
  },
  // Veo's `image_urls`: the reference images first (1 = first frame, up to 3 ingredients), then the last frame.
  veo: {
    orientation: aspect('aspect_ratio'),
    size: field('resolution'),
    images: { read: (body, spec) => (body.image_urls as string[] | undefined)?.slice(0, spec.images.max) },
    endImage: { read: (body, spec) => (body.image_urls as string[] | undefined)?.[spec.images.max] },
  },
  kling: {
    duration: field('duration'),
    orientation: aspect('aspect_ratio'),
    size: field('mode'),
    images: firstImage('start_image_url'),
    endImage: field('end_image_url'),
    negativePrompt: field('negative_prompt'),
  },
  seedance: {
    duration: field('duration'),
    orientation: aspect('ratio'),
    size: field('resolution'),
    images: { read: contentImage('first_frame'), expect: (value) => (value as string[])[0] },
    endImage: { read: contentImage('last_frame') },
  },
  hailuo: { images: firstImage('first_image_url') },
  wan: {
    duration: field('duration'),
    size: { read: (body) => body.resolution, expect: (value) => (value as string).toUpperCase() },
    images: firstImage('image_url'),
    negativePrompt: field('negative_prompt'),
  },
  luma: { orientation: aspect('aspect_ratio'), images: firstImage('start_image_url'), endImage: field('end_image_url') },
};

/** Every field a service's body may hold (from the contracts), besides `async` and `callback_url`. */
const ALLOWED_FIELDS: Record<ServiceId, readonly string[]> = {
  sora: [
    'version',
    'prompt',
    'model',
    'duration',
    'orientation',
    'size',
    'image_urls',
    'character_url',
    'character_start',
    'character_end',
  ],
  veo: ['action', 'model', 'prompt', 'image_urls', 'aspect_ratio', 'resolution'],
  kling: ['action', 'model', 'prompt', 'duration', 'aspect_ratio', 'mode', 'start_image_url', 'end_image_url', 'negative_prompt'],
  seedance: ['model', 'content', 'resolution', 'ratio', 'duration'],
  hailuo: ['action', 'model', 'prompt', 'first_image_url'],
  wan: ['action', 'model', 'prompt', 'duration', 'resolution', 'image_url', 'negative_prompt'],
  luma: ['action', 'prompt', 'aspect_ratio', 'start_image_url', 'end_image_url'],
};

function nonDefault<T>(values: readonly T[], fallback: T | undefined): T | undefined {
  return values.find((value) => value !== fallback) ?? values[0];
}

/** The options a model takes, each set to a value other than its default where there is one. */
function optionsOf(spec: ModelSpec): Partial<Record<Option, unknown>> {
  const options: Partial<Record<Option, unknown>> = {};
  if (spec.durations.length > 0) options.duration = nonDefault(spec.durations, spec.defaultDuration);
  if (spec.orientations.length > 0) options.orientation = nonDefault(spec.orientations, spec.defaultOrientation);
  if (spec.sizes.length > 0) options.size = nonDefault(spec.sizes, spec.defaultSize);
  if (spec.images.max > 0)
    options.images = Array.from({ length: spec.images.max }, (_, i) => `https://images.example/${spec.id}/${i + 1}.png`);
  if (spec.images.endFrame) options.endImage = `https://images.example/${spec.id}/last.png`;
  if (spec.negativePromptMaxChars !== undefined) options.negativePrompt = 'no text, no watermark';
  if (spec.character) options.character = { videoUrl: 'https://clips.example/character.mp4', startSeconds: 2, endSeconds: 4 };
  return options;
}

function requestOf(spec: ModelSpec, options: Partial<Record<Option, unknown>>): GenerationRequest {
  const request: GenerationRequest = { prompt: `a prompt for ${spec.id}`, model: spec.id };
  if (options.duration !== undefined) request.duration = options.duration as number;
  if (options.orientation !== undefined) request.orientation = options.orientation as Orientation;
  if (options.size !== undefined) request.size = options.size as string;
  if (options.images !== undefined) {
    const [first, ...extra] = options.images as string[];
    request.imageUrl = first!;
    if (extra.length > 0) request.extraImageUrls = extra;
  }
  if (options.endImage !== undefined) request.endImageUrl = options.endImage as string;
  if (options.negativePrompt !== undefined) request.negativePrompt = options.negativePrompt as string;
  if (options.character !== undefined) request.character = options.character as GenerationRequest['character'] & object;
  return request;
}

/** Kling allows an end frame only at its `durationsWithEndFrame`: check the two combinations apart. */
function variantsOf(spec: ModelSpec): Partial<Record<Option, unknown>>[] {
  const all = optionsOf(spec);
  if (!spec.durationsWithEndFrame || all.endImage === undefined) return [all];
  const withoutEnd = { ...all };
  delete withoutEnd.endImage;
  return [withoutEnd, { ...all, duration: spec.durationsWithEndFrame[0] }];
}

describe.each(MODEL_CATALOGUE.map((spec) => [spec.id, spec] as const))('catalogue entry %s', (_id, spec) => {
  const readers = READERS[spec.service];

  it.each(variantsOf(spec).map((options, i) => [i, options] as const))(
    'variant %i: every option it takes is in the body under its service’s name',
    (_i, options) => {
      const body = bodyOf(requestOf(spec, options));
      for (const [option, value] of Object.entries(options) as [Option, unknown][]) {
        const reader = readers[option];
        expect(reader, `${spec.service} has no wire field for ${option}, but ${spec.id} takes it`).toBeDefined();
        const wanted = reader!.expect ? reader!.expect(value, spec) : value;
        expect(reader!.read(body, spec), `${spec.id}: ${option}`).toEqual(wanted);
      }
      const hasImage = options.images !== undefined;
      if (spec.service === 'luma') expect(body).not.toHaveProperty('model');
      else expect(body.model).toBe(wireModelFor(spec, hasImage));
      const prompt = spec.service === 'seedance' ? (body.content as { text?: string }[])[0]?.text : body.prompt;
      expect(prompt).toBe(`a prompt for ${spec.id}`);
      for (const key of Object.keys(body)) expect(ALLOWED_FIELDS[spec.service], `${spec.id} sends ${key}`).toContain(key);
    },
  );

  it('an option it does not take changes nothing in the body', () => {
    const taken = optionsOf(spec);
    const everything = requestOf(spec, {
      duration: 7,
      orientation: 'square',
      size: 'huge',
      images: [
        'https://images.example/a.png',
        'https://images.example/b.png',
        'https://images.example/c.png',
        'https://images.example/d.png',
        'https://images.example/e.png',
      ],
      endImage: 'https://images.example/last.png',
      negativePrompt: 'nothing',
      character: { videoUrl: 'https://clips.example/c.mp4', startSeconds: 1, endSeconds: 2 },
      ...taken,
    });
    const onlyTaken = requestOf(spec, taken);
    expect(bodyOf(everything)).toEqual(bodyOf(onlyTaken));
  });

  it('without options, the defaults of the catalogue are sent', () => {
    const body = bodyOf({ prompt: 'p', model: spec.id });
    if (spec.defaultDuration !== undefined && readers.duration) expect(readers.duration.read(body, spec)).toBe(spec.defaultDuration);
    if (spec.defaultOrientation !== undefined && readers.orientation) {
      expect(readers.orientation.read(body, spec)).toEqual(
        readers.orientation.expect?.(spec.defaultOrientation, spec) ?? spec.defaultOrientation,
      );
    }
    if (spec.defaultSize !== undefined && readers.size && !(spec.service === 'veo' && spec.defaultSize === '720p')) {
      expect(readers.size.read(body, spec)).toEqual(readers.size.expect?.(spec.defaultSize, spec) ?? spec.defaultSize);
    }
    if (spec.service === 'veo') expect(body).not.toHaveProperty('resolution');
  });
});
