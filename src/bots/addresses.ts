// Where a webhook may point (SSRF): http(s) URLs whose host is, or resolves
// only to, public unicast addresses. Checked when a bot is created and again
// for every request, where the connection goes to the very address that was
// checked (the `lookup` below), so a DNS answer that changes in between
// (rebinding) cannot steer a request inside. Ranges come from ipaddr.js.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export const WEBHOOK_URL_MAX_LENGTH = 2048;

/**
 * Only ipaddr.js's "unicast" (what no special range claims) is public. That
 * refuses loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7),
 * link-local (169.254/16 with the cloud metadata address, fe80::/10), CGNAT
 * (100.64/10), multicast, unspecified, broadcast, reserved and documentation
 * ranges, and the IPv6 forms that embed an IPv4 address (mapped, NAT64,
 * 6to4, Teredo), whose inner address would otherwise slip past.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed.range() === 'unicast';
}

/** The URL's host as an IP literal (brackets stripped), or null for a name. */
function literalAddress(url: URL): string | null {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return ipaddr.isValid(host) ? host : null;
}

export class WebhookTargetError extends Error {
  override name = 'WebhookTargetError';
}

/** Why the URL cannot be a webhook, in words for its owner; null when it can. */
export async function webhookUrlProblem(text: string, allowPrivate: boolean): Promise<string | null> {
  if (text.length > WEBHOOK_URL_MAX_LENGTH) return `webhookUrl must be at most ${WEBHOOK_URL_MAX_LENGTH} characters.`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'webhookUrl must be an absolute http or https URL.';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'webhookUrl must be an http or https URL.';
  if (allowPrivate) return null;
  try {
    await checkedAddresses(url);
    return null;
  } catch (error) {
    return error instanceof WebhookTargetError ? error.message : 'webhookUrl could not be checked.';
  }
}

/** The public addresses the URL's host stands for; throws WebhookTargetError when there are none. */
export async function checkedAddresses(url: URL): Promise<LookupAddress[]> {
  const literal = literalAddress(url);
  if (literal !== null) {
    if (!isPublicAddress(literal)) throw new WebhookTargetError('webhookUrl must point to a public address.');
    return [{ address: literal, family: literal.includes(':') ? 6 : 4 }];
  }
  const resolved = await new Promise<LookupAddress[]>((resolve, reject) =>
    dnsLookup(url.hostname, { all: true }, (error, addresses) =>
      error ? reject(new WebhookTargetError("webhookUrl's host does not resolve.")) : resolve(addresses),
    ),
  );
  // Every address must be public: a name that also resolves inside is refused as a whole.
  if (resolved.length === 0 || !resolved.every((entry) => isPublicAddress(entry.address))) {
    throw new WebhookTargetError('webhookUrl must point to a public address.');
  }
  return resolved;
}

/**
 * A `lookup` for http.request that resolves the name, refuses it unless every
 * address is public, and hands over the checked addresses, so the socket
 * connects to what was checked. Node skips `lookup` for IP literals: the
 * caller checks those with checkedAddresses first.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  checkedAddresses(new URL(`http://${hostname.includes(':') ? `[${hostname}]` : hostname}/`)).then(
    (addresses) => {
      const family = options.family === 6 || options.family === 4 ? options.family : 0;
      const usable = family ? addresses.filter((entry) => entry.family === family) : addresses;
      if (usable.length === 0) return callback(new WebhookTargetError('no address of the family asked for'), '', 0);
      if (options.all) return (callback as (error: null, addresses: LookupAddress[]) => void)(null, usable);
      callback(null, usable[0]!.address, usable[0]!.family);
    },
    (error: Error) => callback(error as NodeJS.ErrnoException, '', 0),
  );
};
