/**
 * The client's address for per-IP limits. Behind `trustedHops` proxies that
 * each append to X-Forwarded-For, the client is the entry that many places
 * from the end; entries before it were written by the client and are ignored,
 * so sending the header yourself cannot dodge a limit. Without trusted proxies
 * the header is ignored altogether.
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedHops: number,
): string {
  const direct = socketAddress ?? 'unknown';
  if (trustedHops === 0 || forwardedFor === undefined) return direct;
  const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  return entries[entries.length - trustedHops] ?? entries[0] ?? direct;
}
