import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REST, type InternalRequest } from 'discord.js';
import { describe, expect, it, vi } from 'vitest';
import { createInteractionRest, INTERACTION_WEBHOOK_CONCURRENCY, routeInteractionRequests } from '../../src/discord/client.js';

/** Two REST instances whose sending is recorded instead of done. */
function restPair() {
  const sentByBot: string[] = [];
  const sentByInteractions: string[] = [];
  const botRest = new REST();
  const interactionRest = new REST();
  botRest.request = vi.fn((options: InternalRequest) => {
    sentByBot.push(`${options.method} ${options.fullRoute}`);
    return Promise.resolve({});
  });
  interactionRest.request = vi.fn((options: InternalRequest) => {
    sentByInteractions.push(`${options.method} ${options.fullRoute}`);
    return Promise.resolve({});
  });
  routeInteractionRequests(botRest, interactionRest);
  return { botRest, sentByBot, sentByInteractions };
}

describe('routeInteractionRequests', () => {
  it('sends acknowledgements and interaction-webhook edits (token only) through the interaction REST, outside the bot’s global limit', async () => {
    const { botRest, sentByBot, sentByInteractions } = restPair();
    await botRest.post('/interactions/111/token-a/callback', { auth: false, body: { type: 5 } });
    await botRest.patch('/webhooks/222/token-a/messages/@original', { auth: false, body: { content: 'queued' } });
    await botRest.post('/webhooks/222/token-a', { auth: false, body: { content: 'follow-up' } });
    expect(sentByInteractions).toEqual([
      'POST /interactions/111/token-a/callback',
      'PATCH /webhooks/222/token-a/messages/@original',
      'POST /webhooks/222/token-a',
    ]);
    expect(sentByBot).toEqual([]);
  });

  it('keeps every bot-token request (result posts, commands, anything authorized) on the bot REST', async () => {
    const { botRest, sentByBot, sentByInteractions } = restPair();
    await botRest.post('/channels/333/messages', { body: { content: 'the video' } });
    await botRest.get('/applications/@me');
    await botRest.post('/webhooks/444/some-token', { body: { content: 'an authorized webhook call' } });
    expect(sentByBot).toEqual(['POST /channels/333/messages', 'GET /applications/@me', 'POST /webhooks/444/some-token']);
    expect(sentByInteractions).toEqual([]);
  });
});

describe('createInteractionRest', () => {
  /** A local API that answers every request after `delayMs` and records how many were in flight at once. */
  async function slowApi(delayMs: number) {
    let inFlight = 0;
    let mostInFlight = 0;
    const seen: string[] = [];
    const server = createServer((req, res) => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      seen.push(`${req.method} ${req.url}`);
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      }, delayMs);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      api: `http://127.0.0.1:${port}/api`,
      seen,
      mostInFlight: () => mostInFlight,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  it('sends more than 50 reply edits in one second (interaction endpoints are outside the global limit), at most 8 at a time', async () => {
    const api = await slowApi(20);
    try {
      const rest = createInteractionRest(api.api);
      const startedAt = Date.now();
      // One token each: Discord's per-route limit is per interaction token.
      await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          rest.patch(`/webhooks/222/token-${i}/messages/@original`, { auth: false, body: { content: `position ${i}` } }),
        ),
      );
      const elapsedMs = Date.now() - startedAt;
      expect(api.seen).toHaveLength(120);
      expect(api.mostInFlight()).toBe(INTERACTION_WEBHOOK_CONCURRENCY);
      // With the 50/s global budget of a default REST, 120 edits need more than two seconds.
      expect(elapsedMs).toBeLessThan(2_000);
    } finally {
      await api.close();
    }
  });

  it('does not hold acknowledgements behind reply edits', async () => {
    const api = await slowApi(200);
    try {
      const rest = createInteractionRest(api.api);
      const edits = Array.from({ length: 40 }, (_, i) =>
        rest.patch(`/webhooks/222/token-${i}/messages/@original`, { auth: false, body: { content: 'queued' } }),
      );
      const ackStartedAt = Date.now();
      await rest.post('/interactions/111/token-ack/callback', { auth: false, body: { type: 5 } });
      const ackMs = Date.now() - ackStartedAt;
      await Promise.all(edits);
      // The edits need 5 rounds of 200 ms; the acknowledgement needed one.
      expect(ackMs).toBeLessThan(600);
      expect(api.mostInFlight()).toBe(INTERACTION_WEBHOOK_CONCURRENCY + 1);
    } finally {
      await api.close();
    }
  });
});
