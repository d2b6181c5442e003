import type { IncomingMessage } from 'node:http';
import type { CallbackReceiver } from '../poller/callback-receiver.js';
import { classifyCallbackBody } from '../sora/wire.js';
import { jsonReply, type HttpReply, type HttpServer } from './http-server.js';

/** The path provider callbacks are POSTed to; the task id and secret ride in the query string. */
export const CALLBACK_PATH = '/callbacks/sora';
// A callback body is a small JSON document; anything larger is not one.
const MAX_BODY_BYTES = 256 * 1024;

/** The callback URL of one task under the bot's public base URL. */
export function callbackUrl(publicUrl: string, taskId: string, secret: string): string {
  const url = new URL(`${publicUrl}${CALLBACK_PATH}`);
  url.searchParams.set('task', taskId);
  url.searchParams.set('s', secret);
  return url.toString();
}

/** Registers `POST /callbacks/sora` on the HTTP server. */
export function registerCallbackRoute(server: HttpServer, receiver: CallbackReceiver): void {
  server.route('POST', CALLBACK_PATH, async (request): Promise<HttpReply> => {
    const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
    const taskId = query.get('task') ?? '';
    const secret = query.get('s') ?? '';
    if (!taskId || !secret) return jsonReply(404, { error: 'not found' });
    const text = await readBody(request);
    if (text === undefined) return jsonReply(413, { error: 'too large' });
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const verdict = await receiver.receive(taskId, secret, classifyCallbackBody(body));
    // Only "not found" for every refusal: a forger learns nothing about which part was wrong.
    if (verdict.status === 404) return jsonReply(404, { error: 'not found' });
    if (verdict.status === 400) return jsonReply(400, { error: 'not a callback body' });
    return jsonReply(verdict.status, { ok: true });
  });
}

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
