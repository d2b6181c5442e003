import { runMigrateStoreCli } from './store/migrate-store-cli.js';

// `npm run migrate-store -- --from <url> --to <url>`: see `--help`.
process.exitCode = await runMigrateStoreCli(process.argv.slice(2), process.stdout, process.stderr);
