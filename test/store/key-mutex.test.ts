import { describe, expect, it } from 'vitest';
import { createKeyMutex } from '../../src/store/key-mutex.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('createKeyMutex', () => {
  it('runs work for one key one at a time, in call order', async () => {
    const mutex = createKeyMutex();
    const order: string[] = [];
    const gate = deferred();

    const first = mutex.run('k', async () => {
      order.push('first:start');
      await gate.promise;
      order.push('first:end');
    });
    const second = mutex.run('k', () => {
      order.push('second');
      return Promise.resolve();
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual(['first:start']);

    gate.resolve();
    await Promise.all([first, second]);
    expect(order).toEqual(['first:start', 'first:end', 'second']);
  });

  it('runs work for different keys concurrently', async () => {
    const mutex = createKeyMutex();
    const gate = deferred();
    const blocked = mutex.run('a', () => gate.promise);

    await expect(mutex.run('b', () => Promise.resolve('b done'))).resolves.toBe('b done');

    gate.resolve();
    await blocked;
  });

  it('passes a failure to its caller and keeps the chain going', async () => {
    const mutex = createKeyMutex();

    const failing = mutex.run('k', () => Promise.reject(new Error('boom')));
    const throwingSynchronously = mutex.run('k', () => {
      throw new Error('sync boom');
    });
    const after = mutex.run('k', () => Promise.resolve(42));

    await expect(failing).rejects.toThrow('boom');
    await expect(throwingSynchronously).rejects.toThrow('sync boom');
    await expect(after).resolves.toBe(42);
  });

  it('idle waits for queued work, including work queued while it waits', async () => {
    const mutex = createKeyMutex();
    const done: string[] = [];
    const gate = deferred();
    void mutex.run('a', async () => {
      await gate.promise;
      void mutex.run('b', async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        done.push('b');
      });
      done.push('a');
    });

    const idle = mutex.idle();
    gate.resolve();
    await idle;

    expect(done).toEqual(['a', 'b']);
    await expect(mutex.idle()).resolves.toBeUndefined();
  });
});
