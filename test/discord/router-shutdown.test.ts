import type { ChatInputCommandInteraction, Interaction } from 'discord.js';
import { describe, expect, it } from 'vitest';
import type { CommandContext, SlashCommand } from '../../src/discord/command.js';
import { InteractionRouter } from '../../src/discord/router.js';
import { SilentLogger } from '../fakes/silent-logger.js';

/** The slice of a slash-command interaction the router touches, recording its replies. */
function fakeCommandInteraction(commandName: string) {
  const replies: { content?: string; flags?: unknown }[] = [];
  const interaction = {
    id: 'interaction-1',
    commandName,
    guildId: 'guild-1',
    deferred: false,
    replied: false,
    isAutocomplete: () => false,
    isChatInputCommand: () => true,
    reply(options: { content?: string; flags?: unknown }) {
      replies.push(options);
      interaction.replied = true;
      return Promise.resolve();
    },
    editReply(options: { content?: string }) {
      replies.push(options);
      return Promise.resolve();
    },
  };
  return { interaction: interaction as unknown as Interaction & ChatInputCommandInteraction, replies };
}

describe('InteractionRouter during a graceful shutdown', () => {
  it('runs commands until beginShutdown(), then answers every new one with "restarting" without running it', async () => {
    const executed: string[] = [];
    const command: SlashCommand = {
      data: { name: 'sora', description: 'test' },
      execute: (interaction) => {
        executed.push(interaction.id);
        return Promise.resolve();
      },
    };
    const router = new InteractionRouter([command], {} as CommandContext, new SilentLogger());

    const before = fakeCommandInteraction('sora');
    await router.handle(before.interaction);
    expect(executed).toEqual(['interaction-1']);
    expect(before.replies).toEqual([]);

    router.beginShutdown();
    const after = fakeCommandInteraction('sora');
    await router.handle(after.interaction);
    expect(executed).toHaveLength(1);
    expect(after.replies).toHaveLength(1);
    expect(after.replies[0]!.content).toBe('⚠️ The bot is restarting; try again in a minute.');
    // Ephemeral: only the member sees it.
    expect(after.replies[0]!.flags).toBe(64);
  });
});
