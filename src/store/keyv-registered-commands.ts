import type { RegisteredCommandsRecord } from '../core/ports.js';
import type { StoreBackend } from './open-store.js';

/** The keyv namespace holding the hash of the last command registration. */
export const REGISTERED_COMMANDS_NAMESPACE = 'registered_commands';

/** `RegisteredCommandsRecord` in the store's own namespace (so migrate-store copies it with the rest). */
export function createKeyvRegisteredCommands(backend: StoreBackend): RegisteredCommandsRecord {
  const keyv = backend.keyv<string>(REGISTERED_COMMANDS_NAMESPACE);
  return {
    async get(key) {
      const hash = await keyv.get(key);
      return typeof hash === 'string' ? hash : undefined;
    },
    async set(key, hash) {
      await keyv.set(key, hash);
    },
  };
}
