import type sharpModule from 'sharp';

let loading: Promise<typeof sharpModule> | undefined;

/**
 * sharp, loaded on first use: libvips adds about 28 MB to the process as soon as it is imported,
 * and only reference images and usage charts need it (most processes never draw either).
 */
export function loadSharp(): Promise<typeof sharpModule> {
  loading ??= import('sharp').then((module) => module.default);
  return loading;
}
