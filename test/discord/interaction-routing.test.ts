import { REST, type InternalRequest } from 'discord.js';
import { describe, expect, it, vi } from 'vitest';
import { routeInteractionRequests } from '../../src/discord/client.js';

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
