import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commands } from '../../commands/index.js';
import type { GenerationService } from '../../src/core/generation-service.js';
import { InteractionRouter } from '../../src/discord/router.js';
import { createSettingsStore, type SettingsStore } from '../../src/settings/settings-store.js';
import { openStoreBackend, type StoreBackend } from '../../src/store/open-store.js';
import { commandContext } from '../fakes/command-context.js';
import { createCoreHarness } from '../fakes/core-harness.js';
import { createFakeInteraction } from '../fakes/fake-interaction.js';
import { SilentLogger } from '../fakes/silent-logger.js';

/** `/sora generate` answers with the queue position when the task is stored in time, and defers otherwise. */
describe('/sora generate: answer or deferral', () => {
  let backend: StoreBackend;
  let settings: SettingsStore;
  let harness: ReturnType<typeof createCoreHarness>;
  /** Added to every start before it runs: a store that is slow to write. */
  let startDelayMs: number;

  beforeEach(() => {
    backend = openStoreBackend('memory://');
    settings = createSettingsStore(backend);
    harness = createCoreHarness();
    startDelayMs = 0;
  });
  afterEach(async () => {
    await harness.stop();
    await settings.close();
    await backend.close();
  });

  function routerWithSlowStarts(): InteractionRouter {
    const service = harness.service;
    const slow = Object.create(service) as GenerationService;
    slow.start = async (input) => {
      await new Promise((resolve) => setTimeout(resolve, startDelayMs));
      return service.start(input);
    };
    return new InteractionRouter(commands, commandContext(harness, settings, { generation: slow }), new SilentLogger());
  }

  const generate = (createdTimestamp = Date.now()) =>
    createFakeInteraction({ commandName: 'sora', subcommand: 'generate', options: { prompt: 'a fox in the snow' }, createdTimestamp });

  it('answers with the position itself when the task is stored quickly (no deferral, no edit)', async () => {
    const fake = generate();
    await routerWithSlowStarts().handle(fake.interaction);
    expect(fake.interaction.replied).toBe(true);
    expect(fake.interaction.deferred).toBe(false);
    expect(fake.replies).toHaveLength(1);
    expect(fake.lastReply()).toMatch(/position/i);
    expect(harness.store.all()).toHaveLength(1);
  });

  it('defers in time when the store is slow, then edits the position in', async () => {
    startDelayMs = 1_700;
    const fake = generate();
    const startedAt = Date.now();
    let deferredAfterMs: number | undefined;
    const deferReply = fake.interaction.deferReply.bind(fake.interaction);
    fake.interaction.deferReply = ((options) => {
      deferredAfterMs = Date.now() - startedAt;
      return deferReply(options);
    }) as typeof fake.interaction.deferReply;
    await routerWithSlowStarts().handle(fake.interaction);
    expect(fake.interaction.deferred).toBe(true);
    expect(fake.interaction.replied).toBe(false);
    // Deferred at the 1.5 s budget, well inside Discord's 3 s, before the store answered.
    expect(deferredAfterMs).toBeGreaterThanOrEqual(1_400);
    expect(deferredAfterMs).toBeLessThan(1_700);
    expect(fake.lastReply()).toMatch(/position/i);
    expect(harness.store.all()).toHaveLength(1);
  });

  it('defers at once a command that already waited in a busy process (the budget counts from its creation)', async () => {
    startDelayMs = 50;
    const fake = generate(Date.now() - 1_600);
    await routerWithSlowStarts().handle(fake.interaction);
    expect(fake.interaction.deferred).toBe(true);
    expect(fake.lastReply()).toMatch(/position/i);
  });

  it('a refusal from the core (quota) is the answer itself, and nothing more is stored', async () => {
    await harness.stop();
    harness = createCoreHarness({ memberDailyQuota: 1 });
    const router = routerWithSlowStarts();
    await router.handle(generate().interaction);
    const refused = generate();
    await router.handle(refused.interaction);
    expect(refused.interaction.deferred).toBe(false);
    expect(refused.interaction.replied).toBe(true);
    expect(refused.lastReply()).toMatch(/^⚠️ .*1/);
    expect(harness.store.all()).toHaveLength(1);
  });
});
