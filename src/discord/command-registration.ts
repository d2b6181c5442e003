import { createHash } from 'node:crypto';
import { Routes, type APIApplication, type REST } from 'discord.js';
import type { Logger } from 'pino';
import type { RegisteredCommandsRecord } from '../core/ports.js';
import type { MessageCommand, SlashCommand } from './command.js';

/**
 * Registering the slash commands with Discord: by hand (`npm run deploy-commands`) or at every
 * start, where it only happens when the definitions differ from what this bot registered last.
 */

/** Where the commands go: one guild (instant, for testing) or every guild (global). */
export type CommandTarget = { applicationId: string; guildId: string | undefined };

/** The JSON bodies Discord receives for our slash and message commands. */
export function commandDefinitions(commands: readonly SlashCommand[], messageCommands: readonly MessageCommand[]): unknown[] {
  // The builders' toJSON(), as REST would send them.
  return JSON.parse(JSON.stringify([...commands.map((c) => c.data), ...messageCommands.map((c) => c.data)])) as unknown[];
}

/** The application the token belongs to (its id is needed for the command routes). */
export async function currentApplicationId(rest: REST): Promise<string> {
  return ((await rest.get(Routes.currentApplication())) as APIApplication).id;
}

/** Replaces every command of the target with `definitions` (Discord's bulk overwrite); returns the count. */
export async function putCommands(rest: REST, target: CommandTarget, definitions: unknown[]): Promise<number> {
  const route = target.guildId
    ? Routes.applicationGuildCommands(target.applicationId, target.guildId)
    : Routes.applicationCommands(target.applicationId);
  const registered = (await rest.put(route, { body: definitions })) as unknown[];
  return registered.length;
}

/** How the target reads in logs. */
export function describeTarget(target: CommandTarget): string {
  return target.guildId ? `guild ${target.guildId}` : 'global';
}

/** What the hash of the last registration is stored under: one per application and target. */
export function registrationKey(target: CommandTarget): string {
  return `${target.applicationId}:${target.guildId ? `guild:${target.guildId}` : 'global'}`;
}

/** A fingerprint of the definitions: equal exactly when Discord would receive the same commands. */
export function definitionsHash(definitions: unknown[]): string {
  return createHash('sha256').update(canonicalJson(definitions)).digest('hex');
}

/**
 * Whether this process registers at start: with several processes (shards split by
 * `DISCORD_SHARDS`) only the one running shard 0, so they do not all overwrite the commands at once.
 */
export function registersCommands(shardIds: readonly number[] | undefined): boolean {
  return shardIds === undefined || shardIds.includes(0);
}

export type AutoRegistration = { outcome: 'registered'; count: number } | { outcome: 'unchanged' } | { outcome: 'failed'; error: unknown };

/**
 * Registers the definitions when their hash differs from the one recorded for the target, then
 * records it. Never throws: a failure is logged (the bot keeps serving the commands Discord already
 * has) and, as no hash was recorded, the next start tries again.
 */
export async function registerCommandsIfChanged(options: {
  rest: REST;
  record: RegisteredCommandsRecord;
  guildId: string | undefined;
  definitions: unknown[];
  logger: Logger;
  /** Known from the gateway's READY; asked from Discord otherwise. */
  applicationId?: string;
}): Promise<AutoRegistration> {
  const { rest, record, definitions, logger } = options;
  try {
    const target: CommandTarget = {
      applicationId: options.applicationId ?? (await currentApplicationId(rest)),
      guildId: options.guildId,
    };
    const key = registrationKey(target);
    const hash = definitionsHash(definitions);
    if ((await record.get(key)) === hash) {
      logger.info({ scope: describeTarget(target) }, 'commands unchanged since the last registration');
      return { outcome: 'unchanged' };
    }
    const count = await putCommands(rest, target, definitions);
    await record.set(key, hash);
    logger.info({ applicationId: target.applicationId, scope: describeTarget(target), count }, 'commands registered');
    return { outcome: 'registered', count };
  } catch (error) {
    logger.error(
      { err: error },
      'could not register the slash commands; the bot keeps running with the commands Discord already has, the next start tries again (or run npm run deploy-commands)',
    );
    return { outcome: 'failed', error };
  }
}

/** JSON with object keys sorted, so the hash does not depend on the order properties were set in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
