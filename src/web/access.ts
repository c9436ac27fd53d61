// Who may use the web server. On a loopback address: requests whose Host names this machine only
// (DNS rebinding), in every spelling of a loopback address. Anywhere else: a token from the secrets
// file (EDGESEG_HTTP_TOKEN), sent as a bearer token or as the password of HTTP basic auth, compared
// in constant time.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
// Also matches the IPv4-mapped forms (::ffff:127.0.0.1, ::ffff:7f00:1) and 0:0:0:0:0:0:0:1.
loopback.addAddress('::1', 'ipv6');

/** An address or name (brackets allowed) that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  const family = isIP(bare);
  return family !== 0 && loopback.check(bare, family === 6 ? 'ipv6' : 'ipv4');
}

/** The host name of a Host header, without the port ("[::1]:8080" → "[::1]"). */
export function hostName(header: string | undefined): string {
  if (!header) return '';
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  return header.split(':', 1)[0]!.toLowerCase();
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Checks requests for the token; the token itself is kept only as its digest. */
export class TokenCheck {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(token);
  }

  /** True when the request carries the token (Bearer, or basic auth with any user name). */
  accepts(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const offered = /^Bearer (.+)$/i.exec(header)?.[1] ?? basicPassword(header);
    // Digests of equal length: the comparison time does not depend on the offered value.
    return offered !== undefined && timingSafeEqual(digest(offered), this.expected);
  }
}

function basicPassword(header: string): string | undefined {
  const encoded = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header)?.[1];
  if (!encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}
