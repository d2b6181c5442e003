import { REST } from 'discord.js';
import { commands, messageCommands } from '../commands/index.js';
import { readDeployConfigOrExit } from './config.js';
import { commandDefinitions, currentApplicationId, describeTarget, putCommands } from './discord/command-registration.js';
import { createLogger } from './logger.js';

// Registers the slash commands by hand: instantly in DISCORD_GUILD_ID when set, else globally.
// `npm start` does this by itself when the commands changed; this needs only DISCORD_TOKEN.
const config = readDeployConfigOrExit(process.env, process.stderr);
if (typeof config === 'number') process.exit(config);
const logger = createLogger({ level: config.logLevel, pretty: config.logPretty, secrets: [config.discord.token] });

const rest = new REST(config.discord.apiUrl ? { api: config.discord.apiUrl } : {}).setToken(config.discord.token);
try {
  // The application id comes from the token itself.
  const target = { applicationId: await currentApplicationId(rest), guildId: config.discord.guildId };
  const count = await putCommands(rest, target, commandDefinitions(commands, messageCommands));
  logger.info({ applicationId: target.applicationId, scope: describeTarget(target), count }, 'commands registered');
} catch (err) {
  logger.fatal({ err }, 'could not register commands');
  process.exitCode = 1;
}
