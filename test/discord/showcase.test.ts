import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createShowcase } from '../../src/discord/showcase.js';
import { createSettingsStore, type SettingsStore } from '../../src/settings/settings-store.js';
import { openStoreBackend, type StoreBackend } from '../../src/store/open-store.js';
import { makeTask } from '../fakes/task-factory.js';
import { startRestStub, type RestStub } from './rest-stub.js';

const GUILD = '700000000000000001';
const SHOWCASE = '700000000000000002';

describe('showcase', () => {
  let stub: RestStub;
  let backend: StoreBackend;
  let settings: SettingsStore;
  let video: Server;
  let videoUrl: string;

  beforeEach(async () => {
    stub = await startRestStub();
    backend = openStoreBackend('memory://');
    settings = createSettingsStore(backend);
    video = createServer((_req, res) => res.end(Buffer.alloc(2048, 1)));
    await new Promise<void>((resolve) => video.listen(0, '127.0.0.1', resolve));
    videoUrl = `http://127.0.0.1:${(video.address() as AddressInfo).port}/v.mp4`;
  });
  afterEach(async () => {
    await stub.close();
    await settings.close();
    await backend.close();
    await new Promise((resolve) => video.close(resolve));
  });

  const delivered = (uploadLimitBytes = 10 * 1024 * 1024) =>
    makeTask({
      guildId: GUILD,
      state: 'delivered',
      userId: '700000000000000009',
      uploadLimitBytes,
      resultMessageId: '700000000000000010',
      outcome: { kind: 'succeeded', videoUrl },
    });
  const posts = () => stub.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${SHOWCASE}/messages`);

  it('needs a showcase channel and a delivered video', async () => {
    const showcase = createShowcase({ rest: stub.rest(), settings, backend });
    expect(await showcase.share(delivered())).toEqual({ kind: 'no_channel' });
    await settings.edit(GUILD, { kind: 'set_showcase', channelId: SHOWCASE });
    expect(await showcase.share(makeTask({ guildId: GUILD, state: 'failed' }))).toEqual({ kind: 'not_a_video' });
    expect(posts()).toHaveLength(0);
  });

  it('uploads once with credit, a jump link and no ping; a second share (even after a restart) is refused', async () => {
    await settings.edit(GUILD, { kind: 'set_showcase', channelId: SHOWCASE });
    const task = delivered();
    const first = createShowcase({ rest: stub.rest(), settings, backend });
    const [a, b] = await Promise.all([first.share(task), first.share(task)]);
    expect(a.kind).toBe('shared');
    expect(b.kind).toBe('already_shared');
    expect(posts()).toHaveLength(1);
    const body = posts()[0]!;
    expect(body.files).toHaveLength(1);
    const json = body.json as { content: string; allowed_mentions: unknown; embeds: { fields: { value: string }[] }[] };
    expect(json.content).toContain(`<@${task.userId}>`);
    expect(json.allowed_mentions).toEqual({ parse: [] });
    expect(JSON.stringify(json.embeds)).toContain(`https://discord.com/channels/${GUILD}/${task.channelId}/700000000000000010`);

    const afterRestart = createShowcase({ rest: stub.rest(), settings, backend });
    expect((await afterRestart.share(task)).kind).toBe('already_shared');
    expect(posts()).toHaveLength(1);
  });

  it('posts the provider link (never a Discord CDN URL) when the video is over the upload limit', async () => {
    await settings.edit(GUILD, { kind: 'set_showcase', channelId: SHOWCASE });
    const showcase = createShowcase({ rest: stub.rest(), settings, backend });
    expect((await showcase.share(delivered(1000))).kind).toBe('shared');
    const post = posts()[0]!;
    expect(post.files).toHaveLength(0);
    expect((post.json as { content: string }).content).toContain(videoUrl);
  });
});
