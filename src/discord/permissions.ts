import { PermissionFlagsBits, type APIInteractionGuildMember, type GuildMember, type PermissionsBitField } from 'discord.js';
import type { BotPermission } from '../core/preflight.js';

const FLAGS: Record<BotPermission, bigint> = {
  ViewChannel: PermissionFlagsBits.ViewChannel,
  SendMessages: PermissionFlagsBits.SendMessages,
  SendMessagesInThreads: PermissionFlagsBits.SendMessagesInThreads,
  EmbedLinks: PermissionFlagsBits.EmbedLinks,
  AttachFiles: PermissionFlagsBits.AttachFiles,
  ReadMessageHistory: PermissionFlagsBits.ReadMessageHistory,
};

/** The bot's permissions in the interaction's channel (`interaction.appPermissions`), in core terms. */
export function toBotPermissions(appPermissions: Readonly<PermissionsBitField>): Set<BotPermission> {
  const granted = new Set<BotPermission>();
  for (const [name, flag] of Object.entries(FLAGS) as [BotPermission, bigint][]) {
    if (appPermissions.has(flag)) granted.add(name);
  }
  return granted;
}

/** The role ids of an interaction's member (a cached GuildMember or the raw API member). */
export function memberRoleIds(member: GuildMember | APIInteractionGuildMember | null): string[] {
  if (!member) return [];
  return Array.isArray(member.roles) ? [...member.roles] : [...member.roles.cache.keys()];
}
