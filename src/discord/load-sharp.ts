import type sharpModule from 'sharp';

let loading: Promise<typeof sharpModule> | undefined;

/**
 * sharp, loaded on first use: importing it (libvips) costs the bot about 15 MB of RSS at start, and
 * only reference images and usage charts need it (most processes never draw either).
 */
export function loadSharp(): Promise<typeof sharpModule> {
  loading ??= import('sharp').then((module) => module.default);
  return loading;
}
