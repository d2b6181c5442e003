import { readConfigOrExit } from './config.js';
import { startBot, type RunningBot } from './app.js';
import { createLogger } from './logger.js';

// Docker stops containers with SIGTERM and kills them 10 s later; finish well inside that.
const SHUTDOWN_DEADLINE_MS = 8_000;

const config = readConfigOrExit(process.env, process.stderr);
if (typeof config === 'number') process.exit(config);

const logger = createLogger({
  level: config.logLevel,
  pretty: config.logPretty,
  // Scrubbed by value too: library errors can embed a token in their message.
  secrets: [config.discord.token, config.acedata.apiToken],
});
process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
process.on('uncaughtException', (err) => {
  logger.fatal({ err }, 'uncaught exception');
  process.exit(1);
});

let bot: RunningBot | undefined;
let stopSignal: string | undefined;

function stopAndExit(running: RunningBot): void {
  running.stop().then(
    () => {
      logger.info({}, 'stopped');
      logger.flush();
      process.exit(0);
    },
    (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      logger.flush();
      process.exit(1);
    },
  );
}

function shutdown(signal: string): void {
  if (stopSignal !== undefined) return;
  stopSignal = signal;
  logger.info({ signal }, 'shutting down');
  setTimeout(() => {
    logger.error({}, 'shutdown took too long; exiting');
    logger.flush();
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS).unref();
  // A signal during start-up is acted on as soon as the bot is up; the deadline bounds the wait.
  if (bot) stopAndExit(bot);
}
// `once`: a second Ctrl-C falls through to Node's default and ends the process at once.
process.once('SIGTERM', () => shutdown('SIGTERM'));
process.once('SIGINT', () => shutdown('SIGINT'));

try {
  bot = await startBot(config, logger);
  if (stopSignal !== undefined) stopAndExit(bot);
} catch (err) {
  logger.fatal({ err }, 'could not start');
  logger.flush();
  process.exit(1);
}
