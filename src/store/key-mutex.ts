// Hand-written on purpose: the lock libraries present in node_modules (p-limit, @sapphire/async-queue)
// arrive only as transitive dependencies of other packages, and a per-key promise chain is a few lines.

/** Serializes async work per key within this process; different keys run concurrently. */
export interface KeyMutex {
  /** Runs `work` once every earlier call for the same key has settled, and passes its result or error through. */
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
  /** Resolves once every call queued so far (and any queued meanwhile) has settled. */
  idle(): Promise<void>;
}

const ignore = (): void => undefined;

/** Creates a mutex whose per-key chains are dropped as soon as they drain, so it does not grow with the keys seen. */
export function createKeyMutex(): KeyMutex {
  const tails = new Map<string, Promise<void>>();

  return {
    run<T>(key: string, work: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      const result = previous.then(work);
      const tail = result.then(ignore, ignore);
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },

    async idle(): Promise<void> {
      while (tails.size > 0) await Promise.all(tails.values());
    },
  };
}
