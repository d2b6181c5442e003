import type { REST } from 'discord.js';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { commands, messageCommands } from '../../commands/index.js';
import {
  commandDefinitions,
  definitionsHash,
  registerCommandsIfChanged,
  registersCommands,
  registrationKey,
} from '../../src/discord/command-registration.js';
import type { RegisteredCommandsRecord } from '../../src/core/ports.js';

const APP_ID = '111111111111111111';
const GUILD_ID = '222222222222222222';

/** A REST that answers the two routes registration uses and records the PUTs. */
function fakeRest(options: { failPut?: boolean } = {}) {
  const puts: { route: string; body: unknown[] }[] = [];
  let gets = 0;
  const rest = {
    get(route: string) {
      gets++;
      if (route !== '/applications/@me') return Promise.reject(new Error(`unexpected GET ${route}`));
      return Promise.resolve({ id: APP_ID });
    },
    put(route: string, request: { body: unknown[] }) {
      if (options.failPut) return Promise.reject(new Error('403 Missing Access'));
      puts.push({ route, body: request.body });
      return Promise.resolve(request.body);
    },
  };
  return { rest: rest as unknown as REST, puts, gets: () => gets };
}

function memoryRecord(): RegisteredCommandsRecord & { entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return {
    entries,
    get: (key) => Promise.resolve(entries.get(key)),
    set: (key, hash) => Promise.resolve(void entries.set(key, hash)),
  };
}

function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines };
}

const slash = (description: string) => [
  { name: 'sora', description, options: [{ name: 'generate', type: 1, description: 'Make a video' }] },
];

describe('definitionsHash', () => {
  it('is the same for the same commands whatever the order of their properties', () => {
    const a = [{ name: 'sora', description: 'Videos', options: [{ type: 1, name: 'generate' }] }];
    const b = [{ options: [{ name: 'generate', type: 1 }], description: 'Videos', name: 'sora' }];
    expect(definitionsHash(a)).toBe(definitionsHash(b));
    expect(definitionsHash(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes when anything Discord receives changes', () => {
    const base = definitionsHash(slash('Videos'));
    expect(definitionsHash(slash('Videos!'))).not.toBe(base);
    expect(definitionsHash([...slash('Videos'), { name: 'Animate', type: 3 }])).not.toBe(base);
    expect(definitionsHash([{ ...slash('Videos')[0], description_localizations: { ja: '動画' } }])).not.toBe(base);
  });

  it('is stable for the bot’s real commands', () => {
    const definitions = commandDefinitions(commands, messageCommands);
    expect(definitions.map((d) => (d as { name: string }).name)).toEqual(expect.arrayContaining(['sora', 'sora-admin']));
    expect(definitionsHash(commandDefinitions(commands, messageCommands))).toBe(definitionsHash(definitions));
  });
});

describe('registrationKey', () => {
  it('keeps applications and targets apart', () => {
    const keys = new Set([
      registrationKey({ applicationId: APP_ID, guildId: undefined }),
      registrationKey({ applicationId: APP_ID, guildId: GUILD_ID }),
      registrationKey({ applicationId: '333333333333333333', guildId: undefined }),
    ]);
    expect(keys.size).toBe(3);
  });
});

describe('registerCommandsIfChanged', () => {
  it('registers on the first start, not again with the same definitions, and again when they change', async () => {
    const { rest, puts } = fakeRest();
    const record = memoryRecord();
    const { logger } = capturingLogger();
    const run = (definitions: unknown[], guildId?: string) => registerCommandsIfChanged({ rest, record, guildId, definitions, logger });

    expect(await run(slash('Videos'), GUILD_ID)).toEqual({ outcome: 'registered', count: 1 });
    expect(puts.map((p) => p.route)).toEqual([`/applications/${APP_ID}/guilds/${GUILD_ID}/commands`]);

    expect(await run(slash('Videos'), GUILD_ID)).toEqual({ outcome: 'unchanged' });
    expect(puts).toHaveLength(1);

    expect(await run(slash('Videos, now in Japanese too'), GUILD_ID)).toMatchObject({ outcome: 'registered' });
    expect(puts).toHaveLength(2);
    expect(puts[1]!.body).toEqual(slash('Videos, now in Japanese too'));

    // Global is another target: registered there too, once.
    expect(await run(slash('Videos, now in Japanese too'))).toMatchObject({ outcome: 'registered' });
    expect(puts[2]!.route).toBe(`/applications/${APP_ID}/commands`);
    expect(await run(slash('Videos, now in Japanese too'))).toEqual({ outcome: 'unchanged' });
    expect(puts).toHaveLength(3);
  });

  it('uses the application id from the gateway when given, without asking Discord', async () => {
    const { rest, puts, gets } = fakeRest();
    await registerCommandsIfChanged({
      rest,
      record: memoryRecord(),
      guildId: undefined,
      definitions: slash('x'),
      logger: capturingLogger().logger,
      applicationId: '444444444444444444',
    });
    expect(gets()).toBe(0);
    expect(puts[0]!.route).toBe('/applications/444444444444444444/commands');
  });

  it('logs a failure clearly, does not throw, records nothing, and tries again next time', async () => {
    const record = memoryRecord();
    const { logger, lines } = capturingLogger();
    const failing = fakeRest({ failPut: true });
    const result = await registerCommandsIfChanged({ rest: failing.rest, record, guildId: GUILD_ID, definitions: slash('Videos'), logger });
    expect(result.outcome).toBe('failed');
    expect(record.entries.size).toBe(0);
    const error = lines.find((line) => line.level === 50);
    expect(error?.msg).toMatch(/could not register the slash commands.*keeps running/);

    const working = fakeRest();
    expect(
      await registerCommandsIfChanged({ rest: working.rest, record, guildId: GUILD_ID, definitions: slash('Videos'), logger }),
    ).toMatchObject({ outcome: 'registered' });
    expect(working.puts).toHaveLength(1);
  });
});

describe('registersCommands', () => {
  it('is the process running every shard, or shard 0 among several processes', () => {
    expect(registersCommands(undefined)).toBe(true);
    expect(registersCommands([0, 1])).toBe(true);
    expect(registersCommands([1, 2])).toBe(false);
  });
});
