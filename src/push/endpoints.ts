// Which push endpoints a user may register: https only, plain-http loopback
// only when allowed, never an IP address otherwise, and only the allowed
// hosts when an allow-list is set. A server that POSTs wherever a user points
// it would be a request forgery tool against the server's own network.
import { isIP } from 'node:net';
import type { PushConfig } from '../config.js';

/** Longer than any real push service's endpoint (FCM's are about 200 characters). */
export const ENDPOINT_MAX_LENGTH = 1_000;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why the endpoint is refused, or null when it is acceptable. */
export function endpointProblem(endpoint: string, config: PushConfig): string | null {
  if (endpoint.length > ENDPOINT_MAX_LENGTH) return `endpoint must be at most ${ENDPOINT_MAX_LENGTH} characters.`;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'endpoint must be a URL.';
  }
  if (url.username || url.password) return 'endpoint must not carry credentials.';
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (loopback) {
    if (!config.allowLoopback) return 'endpoint must be a push service on the internet.';
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'endpoint must be an https URL.';
  } else {
    if (url.protocol !== 'https:') return 'endpoint must be an https URL.';
    if (isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0) return 'endpoint must name a host, not an address.';
  }
  if (config.endpointHosts.length > 0 && !hostAllowed(url.hostname, config.endpointHosts)) {
    return 'endpoint is not on an allowed push service.';
  }
  return null;
}

/** "fcm.googleapis.com" allows that host; ".push.apple.com" allows its subdomains too. */
function hostAllowed(hostname: string, allowed: string[]): boolean {
  return allowed.some((entry) =>
    entry.startsWith('.') ? hostname === entry.slice(1) || hostname.endsWith(entry) : hostname === entry,
  );
}
