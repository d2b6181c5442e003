import { readConfigOrExit } from './config.js';
import { startBot } from './app.js';
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

try {
  const bot = await startBot(config, logger);
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({}, 'shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    bot.stop().then(
      () => {
        logger.info({}, 'stopped');
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
} catch (err) {
  logger.fatal({ err }, 'could not start');
  logger.flush();
  process.exit(1);
}
