import { describe, expect, it } from 'vitest';
import { imagesForModel, messageImages } from '../../commands/animate.js';

const attachment = (name: string, contentType: string | null) => ({ name, contentType, size: 1024, url: `https://cdn.example/${name}` });

describe('Animate with Sora: the images of a message', () => {
  it('keeps PNG, JPEG, WebP and GIF attachments in order and skips the rest', () => {
    const images = messageImages([
      attachment('notes.txt', 'text/plain'),
      attachment('a.png', 'image/png'),
      attachment('clip.mp4', 'video/mp4'),
      attachment('b.JPG', null),
      attachment('c.webp', 'image/webp; charset=binary'),
      attachment('d.svg', 'image/svg+xml'),
    ]);
    expect(images.map((a) => a.name)).toEqual(['a.png', 'b.JPG', 'c.webp']);
  });

  it('uses as many as the model takes and says when some were left out', () => {
    const three = ['1.png', '2.png', '3.png'].map((n) => attachment(n, 'image/png'));
    expect(imagesForModel(three, 3)).toEqual({ used: three, capped: false });
    expect(imagesForModel(three, 1)).toEqual({ used: [three[0]], capped: true });
    expect(imagesForModel(three.slice(0, 2), 3)).toEqual({ used: three.slice(0, 2), capped: false });
    // A model that takes none still gets the first, so preflight refuses it with its own reason.
    expect(imagesForModel(three, 0)).toEqual({ used: [three[0]], capped: true });
  });
});
