import { parseArgs } from 'node:util';
import { MigrationRefusedError, migrateStore, type MigrationSummary } from './migrate-store.js';
import { parseStoreUrl, StoreUrlError } from './open-store.js';
import { lockStore, StoreLockedError, type StoreLock } from './store-lock.js';

const USAGE = `Copies the bot's store (task ledger, indexes, guild settings) into another one.
Stop the bot first; then point STORE_URL at the target.

Usage: npm run migrate-store -- --from <STORE_URL> --to <STORE_URL> [--dry-run] [--force]

  --from <url>           store to copy from: sqlite://path/file.sqlite or redis://host:port[/db]
  --to <url>             store to copy into
  --dry-run              count what would be copied; write nothing
  --force                copy even when the target already holds data: the source's keys win,
                         the ledger's indexes are merged, a task kept on both sides keeps its
                         more recently updated copy
  --redis-prefix <text>  Redis key prefix on both sides (default sora-bot:, as the bot uses)
  -h, --help             this text
`;

/** Runs the command line; returns the exit code (0 done, 1 refused or failed, 2 usage). */
export async function runMigrateStoreCli(
  args: readonly string[],
  out: { write(text: string): unknown },
  err: { write(text: string): unknown },
): Promise<number> {
  let values: { from?: string; to?: string; 'dry-run'?: boolean; force?: boolean; 'redis-prefix'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        'dry-run': { type: 'boolean' },
        force: { type: 'boolean' },
        'redis-prefix': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    err.write(`migrate-store: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out.write(USAGE);
    return 0;
  }
  if (!values.from || !values.to) {
    err.write(`migrate-store: --from and --to are both required\n\n${USAGE}`);
    return 2;
  }

  const locks: StoreLock[] = [];
  try {
    // The bot's own lock: a sqlite store a running bot writes to is neither read nor written here.
    for (const url of new Set([values.from, values.to])) locks.push(await lockStore(parseStoreUrl(url)));
    const summary = await migrateStore({
      from: values.from,
      to: values.to,
      dryRun: values['dry-run'] ?? false,
      force: values.force ?? false,
      ...(values['redis-prefix'] === undefined ? {} : { redisKeyPrefix: values['redis-prefix'] }),
    });
    out.write(formatSummary(summary));
    return 0;
  } catch (error) {
    if (error instanceof StoreLockedError) {
      err.write(`migrate-store: a bot is running on the sqlite store ${error.storePath}; stop it first\n`);
    } else if (error instanceof MigrationRefusedError || error instanceof StoreUrlError) {
      err.write(`migrate-store: ${error.message}\n`);
    } else {
      err.write(`migrate-store: failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    return 1;
  } finally {
    await Promise.allSettled(locks.map((lock) => lock.release()));
  }
}

/** The summary as the admin reads it. */
export function formatSummary(summary: MigrationSummary): string {
  const lines = [`${summary.dryRun ? 'Dry run (nothing written)' : 'Migrated'}: ${summary.source} -> ${summary.target}`];
  if (summary.namespaces.length === 0) lines.push('  the source holds nothing to copy');
  for (const ns of summary.namespaces) {
    let line = `  ${ns.namespace}: ${ns.keys} keys`;
    if (ns.tasksByState) {
      const states = Object.entries(ns.tasksByState)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([state, count]) => `${state} ${count}`);
      const tasks = Object.values(ns.tasksByState).reduce((sum, count) => sum + count, 0);
      line += ` (${tasks} tasks${states.length > 0 ? `: ${states.join(', ')}` : ''}; ${ns.indexKeys ?? 0} index entries)`;
    }
    lines.push(line);
  }
  if (summary.targetKeysBefore > 0) {
    lines.push(`  the target held ${summary.targetKeysBefore} keys before; ${summary.keysMerged} were on both sides and merged`);
  }
  if (!summary.dryRun) {
    lines.push(`  ${summary.keysWritten} keys written`);
    if (summary.unfinishedTasksInTarget !== undefined) {
      lines.push(`  read back: the bot will resume ${summary.unfinishedTasksInTarget} unfinished tasks from the target`);
    }
  }
  return `${lines.join('\n')}\n`;
}
