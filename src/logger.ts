import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { pino, type DestinationStream, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { Config } from './config-types.js';

export type { Logger } from 'pino';

/** What `createLogger` needs; `secrets` are values scrubbed from every line wherever they appear. */
export interface LoggerOptions {
  level: Config['logLevel'];
  pretty: boolean;
  secrets?: readonly string[];
}

const CENSOR = '[redacted]';

// Keys whose values are secrets wherever they sit: bot and API tokens, interaction tokens (valid
// 15 minutes), authorization headers, and callback URLs (they may carry a secret and come back
// inside Ace Data Cloud task records).
const SECRET_KEYS = ['token', 'apiToken', 'authorization', 'Authorization', 'callbackUrl', 'callback_url', 'callbackSecret', 'secret'];

// Scrubbed from the finished JSON line, at any depth, rather than with pino's `redact` paths: with
// leading wildcards (`*.token`, `*.*.token`, …) pino 10 runs every field of every line through its
// path redactor, which re-parses the paths and clones the field each time. Sampled with the
// inspector in a burst of 5 000 commands, that was a third of all the bot's allocation (about 55 KB
// per line): the garbage that held the bot at 250 MB after a burst. One regex over the line is
// cheap, and it also reaches keys deeper than the paths listed.
// A secret key's value: a string, number or boolean, or an array of those (raw header lists). An
// object value is not censored whole, but any secret key inside it is.
const JSON_SCALAR = `"(?:[^"\\\\]|\\\\.)*"|-?\\d[\\d.eE+-]*|true|false|null`;
const SECRET_FIELD = new RegExp(`(?<=[{,]"(?:${SECRET_KEYS.join('|')})":)(?:${JSON_SCALAR}|\\[(?:(?:${JSON_SCALAR}),?)*\\])`, 'g');

/**
 * Builds the root logger: JSON lines to stdout (or `destination`), secrets redacted by key (any
 * depth) and by value, pino-pretty only when `pretty` (it is a devDependency, so JSON is used when it is missing).
 */
export function createLogger(options: LoggerOptions, destination?: DestinationStream): Logger {
  const scrubSecrets = secretScrubber(options.secrets ?? []);
  const prettyStream = options.pretty ? loadPrettyStream(destination) : undefined;
  const logger = pino(
    {
      level: options.level,
      base: { service: 'sora-discord-bot', pid: process.pid, hostname: hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Secret fields by key, then known secrets by value: library errors embed tokens in messages
      // and URLs that no key reaches.
      hooks: { streamWrite: (line) => scrubSecrets(line.replace(SECRET_FIELD, `"${CENSOR}"`)) },
    },
    prettyStream ?? destination ?? pino.destination({ dest: 1, sync: true }),
  );
  if (options.pretty && prettyStream === undefined) {
    logger.warn('LOG_PRETTY is set but pino-pretty is not installed (a devDependency); logging JSON');
  }
  return logger;
}

function loadPrettyStream(destination: DestinationStream | undefined): DestinationStream | undefined {
  let pretty: typeof PinoPretty;
  try {
    // Loaded on demand: the production image has no devDependencies.
    pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  } catch {
    return undefined;
  }
  // Formatted in-process rather than in a transport worker: synchronous, so nothing is lost on
  // exit, and any `{ write }` sink works (development only, so the cost does not matter).
  const prettify = pretty.prettyFactory({
    colorize: destination === undefined && process.stdout.isTTY,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });
  const target = destination ?? pino.destination({ dest: 1, sync: true });
  return { write: (line: string) => target.write(prettify(line)) };
}

// Discord puts interaction tokens in webhook URLs: /webhooks/{application id}/{token}/…
const DISCORD_URL_TOKEN = /(\/(?:webhooks|interactions)\/\d{15,21}\/)[\w.-]{20,}/g;
// A Discord bot token: base64 user id, timestamp, HMAC, separated by dots.
const DISCORD_BOT_TOKEN = /\b[\w-]{23,28}\.[\w-]{6,7}\.[\w-]{27,}/g;
const AUTHORIZATION_VALUE = /\b(Bearer|Bot) +[\w.~+/-]{16,}=*/g;
// A password in a URL's user info, e.g. redis://:password@host:6379.
const URL_PASSWORD = /(\b[a-z][\w+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi;
// Shorter "secrets" would scrub ordinary words and numbers out of every line.
const MIN_SECRET_LENGTH = 8;

/**
 * Replaces each known secret value (also in its JSON-escaped form), Discord interaction tokens in
 * webhook URLs, bot-token-shaped strings, `Bearer`/`Bot` credentials and URL passwords in `text`
 * with `[redacted]`.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return secretScrubber(secrets)(text);
}

/** `redactSecrets` with the secret values prepared once (the logger runs it on every line). */
function secretScrubber(secrets: readonly string[]): (text: string) => string {
  const values = secrets
    .filter((secret) => secret.length >= MIN_SECRET_LENGTH)
    .flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)])
    .sort((a, b) => b.length - a.length);
  return (text) => {
    let result = text;
    for (const value of values) {
      if (result.includes(value)) result = result.split(value).join(CENSOR);
    }
    return result
      .replace(DISCORD_URL_TOKEN, `$1${CENSOR}`)
      .replace(DISCORD_BOT_TOKEN, CENSOR)
      .replace(AUTHORIZATION_VALUE, `$1 ${CENSOR}`)
      .replace(URL_PASSWORD, `$1${CENSOR}@`);
  };
}
