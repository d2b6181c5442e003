import { REST, Routes, type APIApplication } from 'discord.js';
import { commands, messageCommands } from '../commands/index.js';
import { readConfigOrExit } from './config.js';
import { createLogger } from './logger.js';

// Registers the slash commands: instantly in DISCORD_GUILD_ID when set, else globally.
const config = readConfigOrExit(process.env, process.stderr);
if (typeof config === 'number') process.exit(config);
const logger = createLogger({
  level: config.logLevel,
  pretty: config.logPretty,
  secrets: [config.discord.token, config.acedata.apiToken],
});

const rest = new REST(config.discord.apiUrl ? { api: config.discord.apiUrl } : {}).setToken(config.discord.token);
try {
  // The application id comes from the token itself.
  const application = (await rest.get(Routes.currentApplication())) as APIApplication;
  const body = [...commands.map((c) => c.data), ...messageCommands.map((c) => c.data)];
  const route = config.discord.guildId
    ? Routes.applicationGuildCommands(application.id, config.discord.guildId)
    : Routes.applicationCommands(application.id);
  const registered = (await rest.put(route, { body })) as unknown[];
  logger.info(
    { applicationId: application.id, scope: config.discord.guildId ? `guild ${config.discord.guildId}` : 'global', count: registered.length },
    'commands registered',
  );
} catch (err) {
  logger.fatal({ err }, 'could not register commands');
  process.exitCode = 1;
}
