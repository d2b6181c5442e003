import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';

// Asynchronous on purpose: the emulator answering it runs in this process.
function deploy(world: World, extraEnv: Record<string, string> = {}): Promise<{ status: number | null; output: string }> {
  const child = spawn(process.execPath, ['dist/src/deploy-commands.js'], { env: { ...world.env, ...extraEnv } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, output })));
}

describe('e2e: npm run deploy-commands', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld();
  });
  afterAll(async () => {
    await world.close();
  });

  it('registers the commands in one guild when DISCORD_GUILD_ID is set (the application id comes from the token)', async () => {
    const guild = world.guilds[0]!;
    const result = await deploy(world, { DISCORD_GUILD_ID: guild.id });
    expect(result.status).toBe(0);
    const names = world.discord.registeredCommands(guild.id).map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['sora', 'sora-admin']));
    expect(world.discord.registeredCommands()).toHaveLength(0);
    const sora = world.discord.registeredCommands(guild.id).find((c) => c.name === 'sora') as {
      options: { name: string }[];
      description_localizations?: Record<string, string>;
    };
    expect(sora.options.map((o) => o.name)).toEqual(expect.arrayContaining(['generate', 'status', 'history']));
    expect(sora.description_localizations?.['zh-CN']).toBeTruthy();
    expect(result.output).toContain('commands registered');
    expect(result.output).not.toContain(world.env.DISCORD_TOKEN!);
  });

  it('registers them globally without DISCORD_GUILD_ID', async () => {
    const result = await deploy(world);
    expect(result.status).toBe(0);
    expect(world.discord.registeredCommands().map((c) => c.name)).toEqual(expect.arrayContaining(['sora', 'sora-admin']));
  });

  it('needs only the Discord token: no Ace Data Cloud token, no store', async () => {
    const guild = world.guilds[0]!;
    const child = spawn(process.execPath, ['dist/src/deploy-commands.js'], {
      env: {
        PATH: process.env.PATH ?? '',
        DISCORD_TOKEN: world.env.DISCORD_TOKEN!,
        DISCORD_API_URL: world.env.DISCORD_API_URL!,
        DISCORD_GUILD_ID: guild.id,
      },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(output).not.toContain('ACEDATA_API_TOKEN');
    expect(status).toBe(0);
    expect(output).toContain('commands registered');
    expect(world.discord.registeredCommands(guild.id).map((c) => c.name)).toEqual(expect.arrayContaining(['sora', 'sora-admin']));
  });

  it('without DISCORD_TOKEN names it and exits 1', async () => {
    const result = await deploy(world, { DISCORD_TOKEN: '' });
    expect(result.status).toBe(1);
    expect(result.output).toContain('DISCORD_TOKEN');
  });
});
