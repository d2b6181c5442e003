import { randomInt } from 'node:crypto';

// No 0/o/1/l/i: members type these ids into `/sora status`.
const ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
const ID_LENGTH = 10;

/** A short, random task id (10 characters, ~49 bits): well under the 25-character nonce limit. */
export function newTaskId(): string {
  let id = '';
  for (let i = 0; i < ID_LENGTH; i++) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}

/** Whether a string has the shape of one of our task ids. */
export function looksLikeTaskId(value: string): boolean {
  return value.length === ID_LENGTH && [...value].every((c) => ALPHABET.includes(c));
}
