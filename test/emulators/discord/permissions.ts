/** Discord permission bits used by the emulator (same values as discord.js `PermissionFlagsBits`). */
export const PermissionBits = {
  CreateInstantInvite: 1n << 0n,
  KickMembers: 1n << 1n,
  BanMembers: 1n << 2n,
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  ManageGuild: 1n << 5n,
  AddReactions: 1n << 6n,
  ViewAuditLog: 1n << 7n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  SendTTSMessages: 1n << 12n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  UseExternalEmojis: 1n << 18n,
  ChangeNickname: 1n << 26n,
  ManageRoles: 1n << 28n,
  ManageWebhooks: 1n << 29n,
  UseApplicationCommands: 1n << 31n,
  ManageThreads: 1n << 34n,
  CreatePublicThreads: 1n << 35n,
  CreatePrivateThreads: 1n << 36n,
  SendMessagesInThreads: 1n << 38n,
  ModerateMembers: 1n << 40n,
  SendPolls: 1n << 49n,
  UseExternalApps: 1n << 50n,
} as const;

/** Every permission bit Discord currently defines. */
export const ALL_PERMISSIONS = (1n << 51n) - 1n;

/** What an ordinary member gets from the emulator's "Members" role. */
export const DEFAULT_MEMBER_PERMISSIONS =
  PermissionBits.ViewChannel |
  PermissionBits.SendMessages |
  PermissionBits.EmbedLinks |
  PermissionBits.AttachFiles |
  PermissionBits.ReadMessageHistory |
  PermissionBits.AddReactions |
  PermissionBits.UseExternalEmojis |
  PermissionBits.UseApplicationCommands |
  PermissionBits.SendMessagesInThreads |
  PermissionBits.CreatePublicThreads |
  PermissionBits.ChangeNickname;

/** What the bot's managed role grants unless a guild says otherwise. */
export const DEFAULT_BOT_PERMISSIONS =
  PermissionBits.ViewChannel |
  PermissionBits.SendMessages |
  PermissionBits.SendMessagesInThreads |
  PermissionBits.EmbedLinks |
  PermissionBits.AttachFiles |
  PermissionBits.ReadMessageHistory |
  PermissionBits.UseExternalEmojis |
  PermissionBits.AddReactions;

/** One channel permission overwrite (type 0 = role, 1 = member). */
export interface PermissionOverwrite {
  id: string;
  type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

/** Inputs of Discord's permission algorithm for one member in one channel. */
export interface PermissionContext {
  guildId: string;
  ownerId: string;
  userId: string;
  /** Permissions of every role the member has, @everyone included, by role id. */
  rolePermissions: ReadonlyMap<string, bigint>;
  memberRoleIds: readonly string[];
  /** Overwrites of the channel (for a thread: of its parent). */
  overwrites: readonly PermissionOverwrite[];
  /** Threads need SendMessagesInThreads where other channels need SendMessages. */
  isThread?: boolean;
}

/** Guild-level permissions of a member: @everyone plus their roles; Administrator means all. */
export function computeBasePermissions(ctx: PermissionContext): bigint {
  if (ctx.userId === ctx.ownerId) return ALL_PERMISSIONS;
  let permissions = ctx.rolePermissions.get(ctx.guildId) ?? 0n;
  for (const roleId of ctx.memberRoleIds) permissions |= ctx.rolePermissions.get(roleId) ?? 0n;
  return (permissions & PermissionBits.Administrator) !== 0n ? ALL_PERMISSIONS : permissions;
}

/** Discord's documented algorithm: base, then @everyone, role and member overwrites, then implicit denials. */
export function computeChannelPermissions(ctx: PermissionContext): bigint {
  const base = computeBasePermissions(ctx);
  if ((base & PermissionBits.Administrator) !== 0n || base === ALL_PERMISSIONS) return ALL_PERMISSIONS;
  let permissions = base;
  const everyone = ctx.overwrites.find((o) => o.id === ctx.guildId);
  if (everyone) permissions = (permissions & ~everyone.deny) | everyone.allow;
  let roleAllow = 0n;
  let roleDeny = 0n;
  for (const overwrite of ctx.overwrites) {
    if (overwrite.type === 0 && overwrite.id !== ctx.guildId && ctx.memberRoleIds.includes(overwrite.id)) {
      roleAllow |= overwrite.allow;
      roleDeny |= overwrite.deny;
    }
  }
  permissions = (permissions & ~roleDeny) | roleAllow;
  const member = ctx.overwrites.find((o) => o.type === 1 && o.id === ctx.userId);
  if (member) permissions = (permissions & ~member.deny) | member.allow;
  // Implicit permissions: a channel you cannot see grants nothing; without SendMessages the
  // message-bound permissions are gone too (Discord's "implicit permissions" rules).
  if ((permissions & PermissionBits.ViewChannel) === 0n) return 0n;
  const sendBit = ctx.isThread ? PermissionBits.SendMessagesInThreads : PermissionBits.SendMessages;
  if ((permissions & sendBit) === 0n) {
    permissions &= ~(
      PermissionBits.SendTTSMessages |
      PermissionBits.MentionEveryone |
      PermissionBits.EmbedLinks |
      PermissionBits.AttachFiles
    );
  }
  return permissions;
}

/** True when every bit of `required` is in `permissions`. */
export function hasPermissions(permissions: bigint, required: bigint): boolean {
  return (permissions & required) === required;
}
