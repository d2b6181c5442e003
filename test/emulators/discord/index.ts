/**
 * A local Discord for tests and benchmarks: REST under `apiUrl`, the gateway at `gatewayUrl`, attachment
 * files under `baseUrl`, all on 127.0.0.1. Point discord.js (or the bot's DISCORD_API_URL) at `apiUrl`,
 * log in with `token`, await `gatewayConnected`, then `sendCommand(...)` and inspect the returned handle,
 * `channelMessages(...)`, `requests` and `frames`. See test/emulators/discord-emulator.test.ts for a tour.
 *
 * @module
 */
export { DEFAULT_EMULATOR_TOKEN, DiscordEmulator, startDiscordEmulator } from './emulator.js';
export type { DiscordEmulatorEvents, DiscordEmulatorOptions, DisconnectOptions } from './emulator.js';
export { DiscordErrorCode } from './errors.js';
export { GatewayIntent, GatewayOp } from './gateway.js';
export type { GatewayFrame } from './gateway.js';
export { InteractionHandle } from './interaction-handle.js';
export { CallbackKind, InteractionKind } from './interactions.js';
export type {
  AttachmentInput,
  AutocompleteInput,
  CommandInput,
  ComponentInput,
  FileInfo,
  MessageCommandInput,
  ModalSubmitInput,
  OptionInput,
  RecordedCallback,
  RecordedWebhookCall,
} from './interactions.js';
export { ALL_PERMISSIONS, DEFAULT_BOT_PERMISSIONS, DEFAULT_MEMBER_PERMISSIONS, PermissionBits } from './permissions.js';
export type { FailureInjection, RateLimitInjection, RecordedRequest } from './rest.js';
export { ChannelKind } from './state.js';
export type {
  EmulatorState,
  ChannelSetup,
  ChannelState,
  GuildSetup,
  GuildState,
  MemberSetup,
  MessageSource,
  RecordedAttachment,
  RecordedMessage,
  UserState,
} from './state.js';
