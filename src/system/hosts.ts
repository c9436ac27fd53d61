// The one grammar of a host in anything given to edgeseg: camera URIs, the MQTT broker URL, RTP
// outputs and the web server's address. A host is an IPv4 literal, an IPv6 literal (no zone id), or
// a DNS name of RFC 1123 labels whose last label has a letter: resolvers read "1.2.3" as the IPv4
// address 1.2.0.3, so it is refused rather than meant one way and used another.

import { isIPv4, isIPv6 } from 'node:net';

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Why `host` (an IPv6 literal without brackets) is not an acceptable host, or undefined when it is. */
export function hostProblem(host: string): string | undefined {
  if (isIPv6(host)) return host.includes('%') ? 'IPv6 zone ids are not accepted' : undefined;
  if (IPV4.test(host) && isIPv4(host)) return undefined;
  if (host.length === 0 || host.length > 253) return 'the host must be 1-253 characters';
  const labels = host.split('.');
  if (!labels.every((label) => LABEL.test(label)))
    return 'a host name is dot-separated labels of letters, digits and inner hyphens';
  if (!/[A-Za-z]/.test(labels[labels.length - 1]!))
    return 'the last label of a host name must contain a letter (or give a full IP address)';
  return undefined;
}

/** The same for a host as written in a URL, where an IPv6 literal stands in brackets (and only there). */
export function urlHostProblem(urlHost: string): string | undefined {
  const bracketed = urlHost.startsWith('[') && urlHost.endsWith(']');
  const host = bracketed ? urlHost.slice(1, -1) : urlHost;
  if (bracketed !== isIPv6(host)) return 'brackets hold exactly an IPv6 address';
  return hostProblem(host);
}
