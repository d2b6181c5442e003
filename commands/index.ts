import type { ComponentHandler, MessageCommand, SlashCommand } from '../src/discord/command.js';
import { parseCustomId } from '../src/discord/custom-ids.js';
import { animateCommand, submitAnimateModal } from './animate.js';
import { remixModalHandler, resultButtonHandlers } from './result-buttons.js';
import { soraAdminCommand } from './sora-admin.js';
import { pageHistory, soraCommand } from './sora.js';

/** Every command the bot registers and serves. */
export const commands: readonly SlashCommand[] = [soraCommand, soraAdminCommand];

/** Message context-menu commands, registered with the slash commands. */
export const messageCommands: readonly MessageCommand[] = [animateCommand];

/** Our buttons and modals, by the action in their custom id. */
export const componentHandler: ComponentHandler = {
  async button(interaction, context) {
    const parsed = parseCustomId(interaction.customId);
    if (parsed?.action === 'history') return pageHistory(interaction, context, parsed.args);
    const handler = parsed && resultButtonHandlers[parsed.action];
    if (!parsed || !handler) throw new Error(`no handler for button ${interaction.customId}`);
    await handler(interaction, context, parsed.args[0]);
  },
  async modal(interaction, context) {
    const parsed = parseCustomId(interaction.customId);
    if (parsed?.action === 'remix-modal') return remixModalHandler(interaction, context, parsed.args[0]);
    if (parsed?.action === 'animate-modal') return submitAnimateModal(interaction, context, parsed.args);
    throw new Error(`no handler for modal ${interaction.customId}`);
  },
};
