import { loadSharp } from './load-sharp.js';

/**
 * Rasterises an SVG to PNG in process with sharp (its npm package ships libvips with librsvg, so
 * nothing is downloaded or installed besides it). The SVG's own width and height set the pixels.
 */
export async function svgToPng(svg: string): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(Buffer.from(svg), { density: 72 }).png({ compressionLevel: 9 }).toBuffer();
}
