import type { SlashCommand } from '../src/discord/command.js';
import { soraAdminCommand } from './sora-admin.js';
import { soraCommand } from './sora.js';

/** Every command the bot registers and serves. */
export const commands: readonly SlashCommand[] = [soraCommand, soraAdminCommand];
