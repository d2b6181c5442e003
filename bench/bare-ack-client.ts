/**
 * The floor of the acknowledgement latency: a bare discord.js client (the bot's client options)
 * that only defers each command, run as its own process like the bot. Env: DISCORD_TOKEN, DISCORD_API_URL.
 */
import { Client, Events, GatewayIntentBits, MessageFlags } from 'discord.js';

const client = new Client({
  intents: [GatewayIntentBits.Guilds],
  rest: { api: process.env.DISCORD_API_URL! },
});
client.on(Events.InteractionCreate, (interaction) => {
  if (!interaction.isChatInputCommand()) return;
  interaction.deferReply({ flags: MessageFlags.Ephemeral }).catch((err: unknown) => console.error(err));
});
client.once(Events.ClientReady, () => console.log('ready'));
await client.login(process.env.DISCORD_TOKEN);
