import type { DiscordActions } from './command.js';
import { UserFacingError } from '../core/user-facing-error.js';

// The provider fetches the image when it starts; a queue wait and the download need this much life left.
const MIN_REMAINING_MS = 60 * 60_000;

/** When a signed Discord attachment URL expires (its `ex` parameter, hex seconds); undefined when unsigned. */
export function attachmentUrlExpiresAt(url: string): Date | undefined {
  let ex: string | null;
  try {
    ex = new URL(url).searchParams.get('ex');
  } catch {
    return undefined;
  }
  if (!ex || !/^[0-9a-f]{1,12}$/i.test(ex)) return undefined;
  return new Date(Number.parseInt(ex, 16) * 1000);
}

/**
 * A reference image URL with enough life left for the provider: renewed through Discord when it
 * has expired or is about to; a URL that cannot be renewed is refused (never a silent failure at the provider).
 */
export async function usableImageUrl(url: string, now: Date, discord: DiscordActions | undefined): Promise<string> {
  const expiresAt = attachmentUrlExpiresAt(url);
  if (!expiresAt || expiresAt.getTime() - now.getTime() > MIN_REMAINING_MS) return url;
  const refreshed = await discord?.refreshAttachmentUrls([url]).catch(() => undefined);
  const renewed = refreshed?.get(url);
  const renewedExpiry = renewed ? attachmentUrlExpiresAt(renewed) : undefined;
  if (renewed && (!renewedExpiry || renewedExpiry.getTime() - now.getTime() > MIN_REMAINING_MS)) return renewed;
  throw new UserFacingError('IMAGE_EXPIRED', 'error.imageExpired');
}
