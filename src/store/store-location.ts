// No keyv or driver imports here: the configuration parses STORE_URL with this module alone.

/** The kinds of backend `STORE_URL` can name. */
export type StoreKind = 'memory' | 'sqlite' | 'redis';

/** Where `STORE_URL` points, parsed; `redis.url` may hold a password, so never log it. */
export type StoreLocation = { kind: 'memory' } | { kind: 'sqlite'; path: string } | { kind: 'redis'; url: string };

/** `STORE_URL` is malformed or names an unsupported backend; the message never repeats the URL. */
export class StoreUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUrlError';
  }
}

/** The lower-case scheme of a store URL (`redis`, `rediss`, `sqlite`, `memory`, …), if it has one. */
export function storeUrlScheme(storeUrl: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):/i.exec(storeUrl)?.[1]?.toLowerCase();
}

/** The kind of backend a store URL names, from its scheme alone (undefined: none the bot knows). */
export function storeKindOf(storeUrl: string): StoreKind | undefined {
  const scheme = storeUrlScheme(storeUrl);
  if (scheme === 'rediss') return 'redis';
  return scheme === 'redis' || scheme === 'sqlite' || scheme === 'memory' ? scheme : undefined;
}

/** Parses `sqlite://path`, `redis://host:port[/db]` (or `rediss://`) and `memory://`. */
export function parseStoreUrl(storeUrl: string): StoreLocation {
  const scheme = storeUrlScheme(storeUrl);
  switch (scheme) {
    case 'memory':
      return { kind: 'memory' };
    case 'sqlite': {
      const path = storeUrl.replace(/^sqlite:(\/\/)?/i, '');
      if (path === '') throw new StoreUrlError('STORE_URL sqlite:// needs a file path, e.g. sqlite://data/sora-bot.sqlite');
      return { kind: 'sqlite', path };
    }
    case 'redis':
    case 'rediss':
      if (!URL.canParse(storeUrl)) throw new StoreUrlError(`STORE_URL is not a valid ${scheme}:// URL`);
      return { kind: 'redis', url: storeUrl };
    case undefined:
      throw new StoreUrlError('STORE_URL must start with sqlite://, redis:// or memory://');
    default:
      throw new StoreUrlError(`STORE_URL scheme "${scheme}:" is not supported (use sqlite://, redis:// or memory://)`);
  }
}
