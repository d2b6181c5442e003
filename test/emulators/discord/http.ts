import type { IncomingMessage, ServerResponse } from 'node:http';
import { discordErrors } from './errors.js';

/** One file part of a multipart request (`files[n]`). */
export interface UploadedFile {
  /** The form field name, e.g. `files[0]`. */
  field: string;
  filename: string;
  contentType: string;
  size: number;
  data: Buffer;
}

/** A request body as Discord reads it: JSON (or `payload_json`) plus any uploaded files. */
export interface ParsedBody {
  json: Record<string, unknown> | undefined;
  /** A JSON array body (e.g. PUT of application commands). */
  list: unknown[] | undefined;
  files: UploadedFile[];
  multipart: boolean;
  sizeBytes: number;
}

/** Reads the whole request body. */
export async function readRawBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Parses JSON or multipart (`payload_json` + `files[n]`) the way Discord does. */
export async function parseBody(raw: Buffer, contentType: string | undefined): Promise<ParsedBody> {
  const empty: ParsedBody = { json: undefined, list: undefined, files: [], multipart: false, sizeBytes: raw.length };
  if (raw.length === 0) return empty;
  if (contentType?.startsWith('multipart/form-data')) {
    // Node's WHATWG Response parses multipart without any dependency.
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    const files: UploadedFile[] = [];
    let json: Record<string, unknown> = {};
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field === 'payload_json') json = { ...json, ...parseJsonObject(value) };
        else json[field] = value;
        continue;
      }
      const data = Buffer.from(await value.arrayBuffer());
      files.push({
        field,
        filename: value.name,
        contentType: value.type || 'application/octet-stream',
        size: data.length,
        data,
      });
    }
    return { json, list: undefined, files, multipart: true, sizeBytes: raw.length };
  }
  const value = parseJson(raw.toString('utf8'));
  return Array.isArray(value) ? { ...empty, list: value as unknown[] } : { ...empty, json: asObject(value) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw discordErrors.invalidJson();
  }
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw discordErrors.invalidJson();
  return value as Record<string, unknown>;
}

function parseJsonObject(text: string): Record<string, unknown> {
  return asObject(parseJson(text));
}

/** Writes a JSON answer; Discord always labels it `application/json` (discord.js needs that). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Writes a 204 answer. */
export function sendNoContent(res: ServerResponse): void {
  res.writeHead(204);
  res.end();
}
