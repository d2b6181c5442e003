/**
 * Discord's per-file upload cap for bots where the interaction does not say: 20 MiB since
 * September 2026 (discord-api-docs, Uploading Files: "The default limit is `20 MiB` for all
 * users"; it was 10 MiB from January 2025). Boosted guilds take more, and say so.
 */
export const DEFAULT_UPLOAD_LIMIT_BYTES = 20 * 1024 * 1024;

/**
 * The upload cap to keep with a task started from this interaction: Discord's
 * `attachment_size_limit` when it sent a usable one, Discord's default otherwise. Kept with the
 * task because delivery happens minutes later (or after a restart), long after the interaction.
 */
export function uploadLimitOf(interaction: { readonly attachmentSizeLimit?: number | null }): number {
  const sent = interaction.attachmentSizeLimit;
  // discord.js copies the field as is: absent on older payloads, so undefined despite its type.
  return typeof sent === 'number' && Number.isSafeInteger(sent) && sent > 0 ? sent : DEFAULT_UPLOAD_LIMIT_BYTES;
}
