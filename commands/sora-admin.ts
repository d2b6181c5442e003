import {
  ChannelType,
  MessageFlags,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
  type Guild,
  type GuildMember,
} from 'discord.js';
import { formatCredits } from '../src/core/credits.js';
import { requiredPermissions, type BotPermission } from '../src/core/preflight.js';
import { findModel } from '../src/core/models/catalogue.js';
import { chooseModelOptions } from '../src/core/models/model-options.js';
import { generationCredits } from '../src/core/credits.js';
import { ORIENTATIONS, type Orientation } from '../src/core/task.js';
import { suggestModelOptions } from '../src/discord/model-suggestions.js';
import { UserFacingError } from '../src/core/user-facing-error.js';
import { USAGE_DAYS_DEFAULT, USAGE_DAYS_MAX } from '../src/core/usage-report.js';
import { renderUsageEmbed, USAGE_CHART_FILE_NAME } from '../src/discord/render-usage.js';
import { svgToPng } from '../src/discord/usage-chart-png.js';
import { usageChartSvg } from '../src/discord/usage-chart-svg.js';
import type { CommandContext, SlashCommand } from '../src/discord/command.js';
import { localizeCommand } from '../src/discord/command-localizations.js';
import { toBotPermissions } from '../src/discord/permissions.js';
import { CONTENT_MAX } from '../src/discord/render.js';
import { t, type MessageKey } from '../src/i18n/index.js';
import { effectiveLimits } from '../src/settings/effective-limits.js';
import { SETTINGS_LIMITS, splitBlockedWords, type GuildSettings, type SettingsEdit } from '../src/settings/guild-settings.js';

// Where members may make videos: threads of these channels count as well.
const VIDEO_CHANNEL_TYPES = [ChannelType.GuildText, ChannelType.GuildAnnouncement, ChannelType.GuildForum, ChannelType.GuildVoice] as const;
// Where the bot posts on its own (showcase, admin log).
const POST_CHANNEL_TYPES = [ChannelType.GuildText, ChannelType.GuildAnnouncement] as const;
const LIMIT_NAMES = ['member-daily', 'guild-concurrency', 'daily-budget', 'cooldown', 'all'] as const;

const data = new SlashCommandBuilder()
  .setName('sora-admin')
  .setDescription('Server settings of the Sora bot (Manage Server only)')
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .setDMPermission(false)
  .addSubcommand((sub) =>
    sub
      .setName('showcase')
      .setDescription('Set the showcase channel')
      .addChannelOption((o) =>
        o
          .setName('channel')
          .setDescription('The showcase channel')
          .setRequired(true)
          .addChannelTypes(...POST_CHANNEL_TYPES),
      ),
  )
  .addSubcommand((sub) => sub.setName('showcase-clear').setDescription('Remove the showcase channel'))
  .addSubcommand((sub) =>
    sub
      .setName('auto-showcase')
      .setDescription('Share every finished video to the showcase channel automatically')
      .addBooleanOption((o) => o.setName('enabled').setDescription('On or off').setRequired(true)),
  )
  .addSubcommandGroup((group) =>
    group
      .setName('channels')
      .setDescription('Channels where videos may be made (none listed: everywhere)')
      .addSubcommand((sub) =>
        sub
          .setName('add')
          .setDescription('Allow videos in a channel (and its threads)')
          .addChannelOption((o) =>
            o
              .setName('channel')
              .setDescription('The channel')
              .setRequired(true)
              .addChannelTypes(...VIDEO_CHANNEL_TYPES),
          ),
      )
      .addSubcommand((sub) =>
        sub
          .setName('remove')
          .setDescription('Stop allowing videos in a channel')
          .addChannelOption((o) => o.setName('channel').setDescription('The channel').setRequired(true)),
      )
      .addSubcommand((sub) => sub.setName('clear').setDescription('Allow videos in every channel again')),
  )
  .addSubcommand((sub) =>
    sub
      .setName('limits')
      .setDescription('Daily limit per member, generations at once, cooldown, daily budget')
      .addIntegerOption((o) =>
        o
          .setName('member-daily')
          .setDescription('Videos per member per UTC day (0 = unlimited)')
          .setMinValue(0)
          .setMaxValue(SETTINGS_LIMITS.memberDailyQuotaMax),
      )
      .addIntegerOption((o) =>
        o
          .setName('guild-concurrency')
          .setDescription('Videos generating at once in this server')
          .setMinValue(1)
          .setMaxValue(SETTINGS_LIMITS.guildMaxActiveGenerationsMax),
      )
      .addIntegerOption((o) =>
        o
          .setName('daily-budget')
          .setDescription('Credits per UTC day (sora-2 10 s = 1; weights per model in the README; 0 = none)')
          .setMinValue(0)
          .setMaxValue(SETTINGS_LIMITS.dailyBudgetCreditsMax),
      )
      .addIntegerOption((o) =>
        o
          .setName('cooldown')
          .setDescription('Seconds a member waits between two videos (0 = none)')
          .setMinValue(0)
          .setMaxValue(SETTINGS_LIMITS.memberCooldownSecondsMax),
      )
      .addStringOption((o) =>
        o
          .setName('reset')
          .setDescription("Return a limit to the bot's default")
          .addChoices(...LIMIT_NAMES.map((name) => ({ name, value: name }))),
      ),
  )
  .addSubcommand((sub) =>
    sub
      .setName('defaults')
      .setDescription('Options used when a member does not choose them')
      .addStringOption((o) => o.setName('model').setDescription('Default model').setAutocomplete(true).setMaxLength(64))
      .addIntegerOption((o) =>
        o.setName('duration').setDescription('Default length in seconds (for models that take it)').setMinValue(1).setMaxValue(60),
      )
      .addStringOption((o) =>
        o
          .setName('orientation')
          .setDescription('Default orientation')
          .addChoices(...ORIENTATIONS.map((v) => ({ name: v, value: v }))),
      )
      .addStringOption((o) => o.setName('size').setDescription('Default size').setAutocomplete(true).setMaxLength(32))
      .addBooleanOption((o) => o.setName('reset').setDescription("Drop this server's defaults first")),
  )
  .addSubcommandGroup((group) =>
    group
      .setName('pro-roles')
      .setDescription('Roles allowed to use the premium models (none listed: everyone)')
      .addSubcommand((sub) =>
        sub
          .setName('add')
          .setDescription('Allow a role to use the premium models')
          .addRoleOption((o) => o.setName('role').setDescription('The role').setRequired(true)),
      )
      .addSubcommand((sub) =>
        sub
          .setName('remove')
          .setDescription('Stop allowing a role to use the premium models')
          .addRoleOption((o) => o.setName('role').setDescription('The role').setRequired(true)),
      )
      .addSubcommand((sub) => sub.setName('clear').setDescription('Let everyone use the premium models again')),
  )
  .addSubcommandGroup((group) =>
    group
      .setName('blocked-words')
      .setDescription('Words and phrases refused in prompts (case-insensitive, anywhere in the prompt)')
      .addSubcommand((sub) =>
        sub
          .setName('add')
          .setDescription('Block words or phrases')
          .addStringOption((o) =>
            o.setName('words').setDescription('One or more, separated by commas').setRequired(true).setMaxLength(1000),
          ),
      )
      .addSubcommand((sub) =>
        sub
          .setName('remove')
          .setDescription('Unblock words or phrases')
          .addStringOption((o) =>
            o.setName('words').setDescription('One or more, separated by commas').setRequired(true).setMaxLength(1000),
          ),
      )
      .addSubcommand((sub) => sub.setName('list').setDescription('Show the blocked words'))
      .addSubcommand((sub) => sub.setName('clear').setDescription('Remove every blocked word')),
  )
  .addSubcommand((sub) =>
    sub
      .setName('log-channel')
      .setDescription('Where the bot reports problems to admins')
      .addChannelOption((o) =>
        o
          .setName('channel')
          .setDescription('The admin log channel')
          .setRequired(true)
          .addChannelTypes(...POST_CHANNEL_TYPES),
      ),
  )
  .addSubcommand((sub) => sub.setName('log-channel-clear').setDescription('Stop posting in an admin log channel'))
  .addSubcommand((sub) =>
    sub
      .setName('models')
      .setDescription('The video models members may use here (shows them; give allow to change)')
      .addStringOption((o) =>
        o
          .setName('allow')
          .setDescription('Model ids separated by commas, or "all" for every model the bot offers')
          .setAutocomplete(true)
          .setMaxLength(1000),
      ),
  )
  .addSubcommand((sub) => sub.setName('check').setDescription("Check the bot's permissions in the configured channels"))
  .addSubcommand((sub) => sub.setName('settings').setDescription("Show this server's settings"))
  .addSubcommand((sub) =>
    sub
      .setName('usage')
      .setDescription('Videos and credits per day, member and model, with a chart')
      .addIntegerOption((o) =>
        o
          .setName('days')
          .setDescription(`How many UTC days back, today included (default ${USAGE_DAYS_DEFAULT}, at most ${USAGE_DAYS_MAX})`)
          .setMinValue(1)
          .setMaxValue(USAGE_DAYS_MAX),
      ),
  );

const PERMISSION_LABELS: Record<BotPermission, MessageKey> = {
  ViewChannel: 'perm.ViewChannel',
  SendMessages: 'perm.SendMessages',
  SendMessagesInThreads: 'perm.SendMessagesInThreads',
  EmbedLinks: 'perm.EmbedLinks',
  AttachFiles: 'perm.AttachFiles',
  ReadMessageHistory: 'perm.ReadMessageHistory',
};

/** A replied locale: the admin's own (replies are ephemeral). */
type Locale = string | null | undefined;

type Handler = (interaction: ChatInputCommandInteraction, context: CommandContext, guildId: string) => Promise<void>;

async function reply(interaction: ChatInputCommandInteraction, content: string): Promise<void> {
  await interaction.reply({
    content: truncate(content, CONTENT_MAX),
    flags: MessageFlags.Ephemeral,
    // Settings name roles and channels; a reply must never ping them.
    allowedMentions: { parse: [] },
  });
}

/** Applies an edit; a refused edit is the admin's to fix, so its reason is shown (in their language). */
async function edit(context: CommandContext, guildId: string, change: SettingsEdit) {
  const result = await context.settings.edit(guildId, change);
  if (!result.ok) throw new UserFacingError('SETTING_INVALID', result.problem.key, result.problem.params);
  return result;
}

const handlers: Record<string, Handler> = {
  async showcase(interaction, context, guildId) {
    const channelId = interaction.options.getChannel('channel', true).id;
    await edit(context, guildId, { kind: 'set_showcase', channelId });
    const L = interaction.locale;
    await reply(interaction, t(L, 'admin.showcaseSet', { channel: `<#${channelId}>` }) + (await permissionWarning(interaction, channelId)));
  },

  async 'showcase-clear'(interaction, context, guildId) {
    const { changed } = await edit(context, guildId, { kind: 'set_showcase', channelId: null });
    await reply(interaction, t(interaction.locale, changed ? 'admin.showcaseRemoved' : 'admin.showcaseNone'));
  },

  async 'auto-showcase'(interaction, context, guildId) {
    const enabled = interaction.options.getBoolean('enabled', true);
    const { settings } = await edit(context, guildId, { kind: 'set_auto_showcase', enabled });
    const L = interaction.locale;
    if (!enabled) return reply(interaction, t(L, 'admin.autoShowcaseOff'));
    const channelNote = settings.showcaseChannelId ? '' : ` ${t(L, 'admin.autoShowcaseNoChannel')}`;
    await reply(interaction, t(L, 'admin.autoShowcaseOn') + channelNote);
  },

  async 'channels/add'(interaction, context, guildId) {
    const channelId = interaction.options.getChannel('channel', true).id;
    const { settings } = await edit(context, guildId, { kind: 'allow_channel', channelId });
    await reply(
      interaction,
      t(interaction.locale, 'admin.channelsAdded', { channels: channelList(settings.allowedChannelIds) }) +
        (await permissionWarning(interaction, channelId)),
    );
  },

  async 'channels/remove'(interaction, context, guildId) {
    const channelId = interaction.options.getChannel('channel', true).id;
    const { settings, changed } = await edit(context, guildId, { kind: 'disallow_channel', channelId });
    const L = interaction.locale;
    const now =
      settings.allowedChannelIds.length === 0
        ? t(L, 'admin.channelsEverywhere')
        : t(L, 'admin.channelsOnly', { channels: channelList(settings.allowedChannelIds) });
    const what = t(L, changed ? 'admin.channelRemoved' : 'admin.channelNotListed', { channel: `<#${channelId}>` });
    await reply(interaction, `${what} ${now}`);
  },

  async 'channels/clear'(interaction, context, guildId) {
    await edit(context, guildId, { kind: 'clear_channels' });
    await reply(interaction, t(interaction.locale, 'admin.channelsCleared'));
  },

  async limits(interaction, context, guildId) {
    const memberDaily = interaction.options.getInteger('member-daily');
    const concurrency = interaction.options.getInteger('guild-concurrency');
    const budget = interaction.options.getInteger('daily-budget');
    const cooldown = interaction.options.getInteger('cooldown');
    const reset = interaction.options.getString('reset');
    if (memberDaily === null && concurrency === null && budget === null && cooldown === null && reset === null) {
      throw new UserFacingError('SETTING_INVALID', 'error.limitsMissing');
    }
    // A reset returns a limit to the default (null); a value given in the same command wins over it.
    const resets = (name: (typeof LIMIT_NAMES)[number]) => reset === name || reset === 'all';
    const pick = (value: number | null, name: (typeof LIMIT_NAMES)[number]) => (value !== null ? value : resets(name) ? null : undefined);
    const { settings } = await edit(context, guildId, {
      kind: 'set_limits',
      memberDailyQuota: pick(memberDaily, 'member-daily'),
      guildMaxActiveGenerations: pick(concurrency, 'guild-concurrency'),
      dailyBudgetCredits: pick(budget, 'daily-budget'),
      memberCooldownSeconds: pick(cooldown, 'cooldown'),
    });
    const L = interaction.locale;
    await reply(interaction, `${t(L, 'admin.limitsUpdated')}\n${describeLimits(settings, context, L)}`);
  },

  async defaults(interaction, context, guildId) {
    const model = interaction.options.getString('model')?.trim() || undefined;
    const chosen = {
      model,
      duration: interaction.options.getInteger('duration') ?? undefined,
      orientation: (interaction.options.getString('orientation') ?? undefined) as Orientation | undefined,
      size: interaction.options.getString('size')?.trim() || undefined,
    };
    const reset = interaction.options.getBoolean('reset') ?? false;
    if (!reset && Object.values(chosen).every((value) => value === undefined)) {
      throw new UserFacingError('SETTING_INVALID', 'error.defaultsMissing');
    }
    if (model !== undefined && findModel(model) && !context.preflightRules.offeredModelIds.includes(model)) {
      throw new UserFacingError('SETTING_INVALID', 'error.settingModelNotEnabled', { model });
    }
    // Checked against the model a plain command would use (the server's default, else the bot's), so
    // a default that every such command would trip is refused now, naming what that model takes.
    const current = await context.settings.get(guildId);
    const merged = { ...(reset ? {} : current.defaults), ...Object.fromEntries(Object.entries(chosen).filter(([, v]) => v !== undefined)) };
    const effective = findModel(merged.model ?? context.preflightRules.defaults.model);
    if (effective) {
      const check = chooseModelOptions(effective, { ...merged, imageCount: effective.images.min, hasEndImage: false, hasCharacter: false });
      if (!check.ok) throw new UserFacingError('SETTING_INVALID', check.error.key, check.error.params);
    }
    const { settings } = await edit(context, guildId, { kind: 'set_defaults', defaults: chosen, reset });
    const L = interaction.locale;
    await reply(interaction, t(L, 'admin.defaultsUpdated', { defaults: describeDefaults(settings, context, L) }));
  },

  async models(interaction, context, guildId) {
    const allow = interaction.options.getString('allow')?.trim();
    const L = interaction.locale;
    let settings = await context.settings.get(guildId);
    if (allow) {
      const ids = allow.toLowerCase() === 'all' ? [] : [...new Set(allow.split(/[,，、\s]+/).filter((id) => id !== ''))];
      const notEnabled = ids.find((id) => findModel(id) && !context.preflightRules.offeredModelIds.includes(id));
      if (notEnabled) throw new UserFacingError('SETTING_INVALID', 'error.settingModelNotEnabled', { model: notEnabled });
      // A default left outside the new list would make every plain command fail: it is dropped.
      ({ settings } = await edit(context, guildId, { kind: 'set_allowed_models', modelIds: ids }));
      if (settings.defaults.model && ids.length > 0 && !ids.includes(settings.defaults.model)) {
        ({ settings } = await edit(context, guildId, {
          kind: 'set_defaults',
          defaults: { ...settings.defaults, model: undefined },
          reset: true,
        }));
      }
    }
    await reply(interaction, `${allow ? `${t(L, 'admin.modelsUpdated')}\n` : ''}${describeModels(settings, context, L)}`);
  },

  async 'pro-roles/add'(interaction, context, guildId) {
    const roleId = interaction.options.getRole('role', true).id;
    const { settings } = await edit(context, guildId, { kind: 'add_pro_role', roleId });
    await reply(
      interaction,
      t(interaction.locale, 'admin.proRolesAdded', { roles: roleList(settings.proRoleIds), models: premiumModels(context) }),
    );
  },

  async 'pro-roles/remove'(interaction, context, guildId) {
    const roleId = interaction.options.getRole('role', true).id;
    const { settings, changed } = await edit(context, guildId, { kind: 'remove_pro_role', roleId });
    const L = interaction.locale;
    const now =
      settings.proRoleIds.length === 0
        ? t(L, 'admin.proRolesEveryone', { models: premiumModels(context) })
        : t(L, 'admin.proRolesOnly', { roles: roleList(settings.proRoleIds), models: premiumModels(context) });
    const what = t(L, changed ? 'admin.roleRemoved' : 'admin.roleNotListed', { role: `<@&${roleId}>` });
    await reply(interaction, `${what} ${now}`);
  },

  async 'pro-roles/clear'(interaction, context, guildId) {
    await edit(context, guildId, { kind: 'clear_pro_roles' });
    await reply(interaction, t(interaction.locale, 'admin.proRolesCleared', { models: premiumModels(context) }));
  },

  async 'blocked-words/add'(interaction, context, guildId) {
    const words = splitBlockedWords(interaction.options.getString('words', true));
    const { settings } = await edit(context, guildId, { kind: 'add_blocked_words', words });
    const params = { count: words.length, total: settings.blockedWords.length };
    await reply(interaction, t(interaction.locale, words.length === 1 ? 'admin.blockedAddedOne' : 'admin.blockedAdded', params));
  },

  async 'blocked-words/remove'(interaction, context, guildId) {
    const words = splitBlockedWords(interaction.options.getString('words', true));
    const before = (await context.settings.get(guildId)).blockedWords.length;
    const { settings } = await edit(context, guildId, { kind: 'remove_blocked_words', words });
    const total = settings.blockedWords.length;
    await reply(interaction, t(interaction.locale, 'admin.blockedRemoved', { count: before - total, total }));
  },

  async 'blocked-words/list'(interaction, context, guildId) {
    const { blockedWords } = await context.settings.get(guildId);
    const L = interaction.locale;
    if (blockedWords.length === 0) return reply(interaction, t(L, 'admin.blockedNone'));
    await reply(
      interaction,
      `${t(L, 'admin.blockedList', { count: blockedWords.length })}\n${fencedList(blockedWords, CONTENT_MAX - 60, L)}`,
    );
  },

  async 'blocked-words/clear'(interaction, context, guildId) {
    await edit(context, guildId, { kind: 'clear_blocked_words' });
    await reply(interaction, t(interaction.locale, 'admin.blockedCleared'));
  },

  async 'log-channel'(interaction, context, guildId) {
    const channelId = interaction.options.getChannel('channel', true).id;
    await edit(context, guildId, { kind: 'set_log_channel', channelId });
    await reply(
      interaction,
      t(interaction.locale, 'admin.logChannelSet', { channel: `<#${channelId}>` }) + (await permissionWarning(interaction, channelId)),
    );
  },

  async 'log-channel-clear'(interaction, context, guildId) {
    const { changed } = await edit(context, guildId, { kind: 'set_log_channel', channelId: null });
    await reply(interaction, t(interaction.locale, changed ? 'admin.logChannelOff' : 'admin.logChannelNone'));
  },

  async check(interaction, context, guildId) {
    const settings = await context.settings.get(guildId);
    const L = interaction.locale;
    const purposes = new Map<string, string[]>();
    const add = (channelId: string | null, purpose: MessageKey) => {
      if (channelId) purposes.set(channelId, [...(purposes.get(channelId) ?? []), t(L, purpose)]);
    };
    add(interaction.channelId, 'admin.purposeHere');
    for (const id of settings.allowedChannelIds) add(id, 'admin.purposeVideos');
    add(settings.showcaseChannelId, 'admin.purposeShowcase');
    add(settings.adminLogChannelId, 'admin.purposeAdminLog');
    const me = await botMember(interaction.guild);
    const lines = [...purposes].map(([channelId, why]) => describeChannelPermissions(interaction, me, channelId, why));
    await reply(interaction, `${t(L, 'admin.checkTitle')}\n${lines.join('\n')}\n${describeModelHealth(settings, context, L)}`);
  },

  async settings(interaction, context, guildId) {
    await reply(interaction, describeSettings(await context.settings.get(guildId), context, interaction.locale));
  },

  async usage(interaction, context, guildId) {
    if (!context.usageReports) throw new UserFacingError('NOT_AVAILABLE', 'error.usageUnavailable');
    // Discord enforces the range; a value outside it (an old registration) is clamped rather than refused.
    const days = Math.min(USAGE_DAYS_MAX, Math.max(1, interaction.options.getInteger('days') ?? USAGE_DAYS_DEFAULT));
    // Reading up to 90 days of the ledger and drawing the chart may outlast Discord's 3 s.
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const [report, settings] = await Promise.all([context.usageReports.forGuild(guildId, days), context.settings.get(guildId)]);
    const chart = usageChartSvg({ perDay: report.perDay, budgetCredits: settings.dailyBudgetCredits });
    const png = await svgToPng(chart.svg);
    await interaction.editReply({
      embeds: [renderUsageEmbed(report, { locale: interaction.locale, budgetCredits: settings.dailyBudgetCredits, chart })],
      files: [{ attachment: png, name: USAGE_CHART_FILE_NAME }],
      // Member mentions in the embed name people; they never ping.
      allowedMentions: { parse: [] },
    });
  },
};

/** Models a server may pick from (the operator's) and those it offers now, with their weights. */
function describeModels(s: GuildSettings, context: CommandContext, L: Locale): string {
  const operator = context.preflightRules.offeredModelIds;
  const here = s.allowedModels.length > 0 ? operator.filter((id) => s.allowedModels.includes(id)) : operator;
  const defaultModel = here.includes(s.defaults.model ?? '')
    ? s.defaults.model
    : here.includes(context.preflightRules.defaults.model)
      ? context.preflightRules.defaults.model
      : here[0];
  const lines = operator.map((id) => {
    const spec = findModel(id)!;
    const marks = [
      here.includes(id) ? '✅' : '▫️',
      `\`${id}\``,
      spec.displayName,
      t(L, 'admin.modelWeight', { credits: formatCredits(generationCredits({ model: id, duration: spec.defaultDuration })) }),
      id === defaultModel ? t(L, 'choice.modelDefault') : undefined,
      context.modelAvailability?.isUnavailable(id) ? t(L, 'choice.modelUnavailable') : undefined,
    ];
    return marks.filter((mark) => mark !== undefined).join(' · ');
  });
  return [t(L, s.allowedModels.length > 0 ? 'admin.modelsSome' : 'admin.modelsAll'), ...lines].join('\n');
}

/** Whether each model offered here answered lately: "not served" ones are named with their retry time. */
function describeModelHealth(s: GuildSettings, context: CommandContext, L: Locale): string {
  const operator = context.preflightRules.offeredModelIds;
  const here = s.allowedModels.length > 0 ? operator.filter((id) => s.allowedModels.includes(id)) : operator;
  const lines = here.map((id) => {
    const health = context.modelAvailability?.health(id) ?? { state: 'unknown' as const };
    switch (health.state) {
      case 'ok':
        return `✅ \`${id}\`: ${t(L, 'admin.modelAnswered', { at: `<t:${Math.floor(health.lastAnsweredAt.getTime() / 1000)}:R>` })}`;
      case 'unavailable':
        return `❌ \`${id}\`: ${t(L, 'admin.modelNotServed', { code: health.code, retry: `<t:${Math.floor(health.retryAt.getTime() / 1000)}:R>` })}`;
      case 'unknown':
        return `▫️ \`${id}\`: ${t(L, 'admin.modelNotTried')}`;
    }
  });
  return [t(L, 'admin.checkModels'), ...lines].join('\n');
}

function premiumModels(context: CommandContext): string {
  const ids = context.preflightRules.offeredModelIds.filter((id) => findModel(id)?.premium);
  return ids.length > 0 ? ids.join(', ') : '—';
}

async function autocomplete(interaction: AutocompleteInteraction, context: CommandContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  const rules = context.preflightRules;
  if (focused.name === 'size') {
    return interaction.respond(
      suggestModelOptions('size', String(focused.value), interaction.options.getString('model'), rules, interaction.locale),
    );
  }
  if (focused.name === 'model') {
    return interaction.respond(suggestModelOptions('model', String(focused.value), null, rules, interaction.locale));
  }
  // `allow`: a comma list; suggest completing its last entry, keeping what was typed before it.
  const typed = String(focused.value);
  const cut = typed.lastIndexOf(',');
  const head = cut < 0 ? '' : `${typed.slice(0, cut + 1)}`;
  const choices = suggestModelOptions('model', typed.slice(cut + 1), null, rules, interaction.locale).map((choice) => ({
    name: `${head}${choice.value}`.slice(0, 100),
    value: `${head}${choice.value}`.slice(0, 100),
  }));
  await interaction.respond(typed.trim() === '' ? [{ name: 'all', value: 'all' }, ...choices.slice(0, 24)] : choices);
}

/** `/sora-admin …`: guild settings, for members with Manage Server. */
export const soraAdminCommand: SlashCommand = {
  data: localizeCommand(data.toJSON()),
  autocomplete,
  async execute(interaction, context) {
    const guildId = interaction.guildId;
    if (!guildId) throw new UserFacingError('NOT_IN_GUILD', 'error.settingsNotInGuild');
    // Discord hides the command from others by default, but a server can override that per role or channel.
    if (!interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) {
      throw new UserFacingError('ADMIN_ONLY', 'error.adminOnly');
    }
    const group = interaction.options.getSubcommandGroup(false);
    const sub = interaction.options.getSubcommand();
    const handler = handlers[group ? `${group}/${sub}` : sub];
    if (!handler) throw new UserFacingError('OPTION_INVALID', 'error.unknownSubcommand');
    await handler(interaction, context, guildId);
  },
};

async function botMember(guild: Guild | null): Promise<GuildMember | undefined> {
  if (!guild) return undefined;
  return guild.members.me ?? (await guild.members.fetchMe().catch(() => undefined));
}

/** A warning when the bot could not post in a channel just configured (empty when it can). */
async function permissionWarning(interaction: ChatInputCommandInteraction, channelId: string): Promise<string> {
  const me = await botMember(interaction.guild);
  const channel = interaction.guild?.channels.cache.get(channelId);
  if (!me || !channel) return '';
  const granted = toBotPermissions(channel.permissionsFor(me));
  const missing = requiredPermissions(channel.isThread()).filter((p) => !granted.has(p));
  if (missing.length === 0) return '';
  const L = interaction.locale;
  return `\n${t(L, 'admin.cannotPostThere', { permissions: missing.map((p) => t(L, PERMISSION_LABELS[p])).join(t(L, 'common.listSeparator')) })}`;
}

function describeChannelPermissions(
  interaction: ChatInputCommandInteraction,
  me: GuildMember | undefined,
  channelId: string,
  purposes: string[],
): string {
  const L = interaction.locale;
  const heading = `<#${channelId}> (${purposes.join(t(L, 'common.listSeparator'))})`;
  const channel = interaction.guild?.channels.cache.get(channelId);
  if (!channel || !me) return `${heading}: ${t(L, 'admin.checkNotFound')}`;
  const granted = toBotPermissions(channel.permissionsFor(me));
  const isThread = channel.isThread();
  const required = requiredPermissions(isThread);
  // In a channel members may also start threads, where posting needs Send Messages in Threads.
  const shown: BotPermission[] = isThread ? required : [...required.slice(0, 2), 'SendMessagesInThreads', ...required.slice(2)];
  const ready = required.every((p) => granted.has(p));
  const marks = shown.map((p) => `${granted.has(p) ? '✅' : '❌'} ${t(L, PERMISSION_LABELS[p])}`).join(' · ');
  return `${heading}: ${t(L, ready ? 'admin.checkReady' : 'admin.checkCannotDeliver')}\n  ${marks}`;
}

function describeSettings(s: GuildSettings, context: CommandContext, L: Locale): string {
  const none = t(L, 'admin.none');
  const showcase = s.showcaseChannelId ? `<#${s.showcaseChannelId}>` : none;
  return [
    t(L, 'admin.settingsTitle'),
    t(L, s.autoShowcase ? 'admin.settingsShowcaseAuto' : 'admin.settingsShowcase', { value: showcase }),
    t(L, 'admin.settingsAdminLog', { value: s.adminLogChannelId ? `<#${s.adminLogChannelId}>` : none }),
    t(L, 'admin.settingsVideosAllowed', {
      value: s.allowedChannelIds.length === 0 ? t(L, 'admin.settingsEveryChannel') : channelList(s.allowedChannelIds),
    }),
    describeLimits(s, context, L),
    t(L, 'admin.settingsDefaults', { defaults: describeDefaults(s, context, L) }),
    t(L, 'admin.settingsModels', { value: s.allowedModels.length === 0 ? t(L, 'admin.settingsEveryModel') : s.allowedModels.join(', ') }),
    t(L, 'admin.settingsProRoles', { value: s.proRoleIds.length === 0 ? t(L, 'admin.settingsEveryone') : roleList(s.proRoleIds) }),
    t(L, s.blockedWords.length > 0 ? 'admin.settingsBlockedWordsList' : 'admin.settingsBlockedWords', { count: s.blockedWords.length }),
  ].join('\n');
}

function describeLimits(s: GuildSettings, context: CommandContext, L: Locale): string {
  const applied = effectiveLimits(s, context.limitDefaults);
  const orDefault = (value: string, isDefault: boolean) => (isDefault ? t(L, 'admin.botDefault', { value }) : value);
  const quota = applied.memberDailyQuota;
  const quotaText = orDefault(quota === 0 ? t(L, 'admin.unlimited') : String(quota), applied.isDefault.memberDailyQuota);
  const concurrencyText = orDefault(String(applied.guildMaxActiveGenerations), applied.isDefault.guildMaxActiveGenerations);
  const cooldown = applied.memberCooldownSeconds;
  const cooldownText = orDefault(
    cooldown === 0 ? t(L, 'admin.none') : t(L, 'admin.seconds', { seconds: cooldown }),
    applied.isDefault.memberCooldownSeconds,
  );
  const budget =
    s.dailyBudgetCredits === 0 ? t(L, 'admin.none') : t(L, 'admin.budgetCredits', { credits: formatCredits(s.dailyBudgetCredits) });
  return [
    t(L, 'admin.limitsMemberDaily', { value: quotaText }),
    t(L, 'admin.limitsConcurrency', { value: concurrencyText }),
    t(L, 'admin.limitsCooldown', { value: cooldownText }),
    t(L, 'admin.limitsBudget', { value: budget }),
  ].join('\n');
}

function describeDefaults(s: GuildSettings, context: CommandContext, L: Locale): string {
  const d = { ...context.preflightRules.defaults, ...s.defaults };
  const spec = findModel(d.model);
  // Each default applies only with a model that takes it: show what a plain command would get.
  const shown = (value: string | number | undefined, allowed: readonly (string | number)[] | undefined) =>
    value !== undefined && (allowed === undefined || allowed.includes(value)) ? String(value) : t(L, 'admin.modelsOwnDefault');
  return t(L, 'admin.defaultsValue', {
    model: d.model,
    duration:
      d.duration !== undefined && (spec?.durations ?? []).includes(d.duration)
        ? t(L, 'admin.seconds', { seconds: d.duration })
        : t(L, 'admin.modelsOwnDefault'),
    orientation: d.orientation ? t(L, `choice.orientation.${d.orientation}` as MessageKey) : t(L, 'admin.modelsOwnDefault'),
    size: shown(d.size, spec?.sizes),
  });
}

function channelList(ids: readonly string[]): string {
  return ids.map((id) => `<#${id}>`).join(', ');
}

function roleList(ids: readonly string[]): string {
  return ids.map((id) => `<@&${id}>`).join(', ');
}

/** One word per line in a code block, cut to `maxChars` with a count of what was left out. */
function fencedList(words: readonly string[], maxChars: number, L: Locale): string {
  const lines: string[] = [];
  let length = 0;
  for (const [index, word] of words.entries()) {
    // A backtick would close the block; the words are shown, not matched, here.
    const line = word.replace(/`/g, 'ˋ');
    if (length + line.length + 1 > maxChars - 30) {
      return `\`\`\`\n${lines.join('\n')}\n\`\`\`${t(L, 'admin.blockedListMore', { count: words.length - index })}`;
    }
    lines.push(line);
    length += line.length + 1;
  }
  return `\`\`\`\n${lines.join('\n')}\n\`\`\``;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
