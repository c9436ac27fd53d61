// The grammar of an RTP output URI (`rtp://HOST:PORT[?ttl=N&pkt_size=N]`), checked once at the
// border: HOST is an IPv4 or bracketed IPv6 literal or a host name of letters, digits, dots and
// hyphens; PORT is 1-65534 (RTCP uses PORT+1); the only query options are an allowlist of bounded integers. The
// encoder commands are built from the parsed parts, never from the text.

import { isIPv6 } from 'node:net';
import { hostProblem } from '../system/hosts.js';

export interface RtpTarget {
  /** An IPv4 literal, an IPv6 literal (without brackets) or a host name. */
  host: string;
  port: number;
  /** Multicast/unicast time to live. */
  ttl?: number;
  /** Largest RTP packet in bytes (ffmpeg's pkt_size, GStreamer's mtu). */
  pktSize?: number;
}

/** The query options an RTP URI may carry, with their bounds. */
export const RTP_QUERY_OPTIONS = {
  ttl: { min: 1, max: 255, field: 'ttl' },
  pkt_size: { min: 256, max: 9000, field: 'pktSize' },
} as const satisfies Record<string, { min: number; max: number; field: keyof RtpTarget }>;

export const RTP_URI_MAX_LENGTH = 300;
export const RTP_URI_FORM =
  'rtp://HOST:PORT with HOST an IP address or a host name (letters, digits, dots, hyphens) and PORT 1-65534 (RTCP takes PORT+1), optionally ?ttl=1..255&pkt_size=256..9000';

const DECIMAL = /^[1-9]\d{0,5}$/;

function integerIn(text: string, min: number, max: number): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}

/** Why `target` (however it was made) is not a valid RTP target, or undefined when it is. */
export function rtpTargetProblem(target: RtpTarget): string | undefined {
  const host = hostProblem(target.host);
  if (host) return host;
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65534)
    return 'the port must be 1-65534';
  for (const [name, bounds] of Object.entries(RTP_QUERY_OPTIONS)) {
    const value = target[bounds.field];
    if (value !== undefined && (!Number.isInteger(value) || value < bounds.min || value > bounds.max))
      return `${name} must be an integer ${bounds.min}..${bounds.max}`;
  }
  return undefined;
}

export type RtpParse = { ok: true; target: RtpTarget } | { ok: false; problem: string };

/** Parses an RTP URI. The problem never repeats the text (it might hold a secret). */
export function parseRtpUri(text: string): RtpParse {
  const fail = (problem: string): RtpParse => ({
    ok: false,
    problem: `${problem}; expected ${RTP_URI_FORM}`,
  });
  if (text.length > RTP_URI_MAX_LENGTH) return fail(`longer than ${RTP_URI_MAX_LENGTH} characters`);
  if (!text.startsWith('rtp://')) return fail('the scheme must be rtp://');
  const match = /^rtp:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]+)(?:\?([A-Za-z0-9_=&]*))?$/.exec(text);
  if (!match)
    return fail(
      'only a host, a port and allowed query options may appear (no user, path, spaces or other characters)',
    );
  const [, rawHost, rawPort, query] = match as unknown as [string, string, string, string | undefined];
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  if (rawHost.startsWith('[') !== isIPv6(host)) return fail('brackets hold exactly an IPv6 address');
  const port = integerIn(rawPort, 1, 65534);
  if (port === undefined) return fail('the port must be 1-65534');
  const target: RtpTarget = { host, port };
  for (const pair of query ? query.split('&') : []) {
    const [name, value, extra] = pair.split('=');
    if (name === undefined || value === undefined || extra !== undefined)
      return fail('query options are name=value pairs joined by &');
    if (!Object.hasOwn(RTP_QUERY_OPTIONS, name))
      return fail(
        `query option "${name}" is not allowed (allowed: ${Object.keys(RTP_QUERY_OPTIONS).join(', ')})`,
      );
    const bounds = RTP_QUERY_OPTIONS[name as keyof typeof RTP_QUERY_OPTIONS];
    if (target[bounds.field] !== undefined) return fail(`query option ${name} is given twice`);
    const parsed = integerIn(value, bounds.min, bounds.max);
    if (parsed === undefined) return fail(`${name} must be an integer ${bounds.min}..${bounds.max}`);
    target[bounds.field] = parsed;
  }
  const problem = rtpTargetProblem(target);
  return problem ? fail(problem) : { ok: true, target };
}

/** The host as it appears inside a URL (IPv6 in brackets). */
export function urlHost(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

/** An SDP description of the stream, for a receiver (ffmpeg -i stream.sdp, VLC, GStreamer). */
export function sdpFor(target: RtpTarget, name = 'edgeseg overlay'): string {
  const family = isIPv6(target.host) ? 'IP6' : 'IP4';
  return [
    'v=0',
    `o=- 0 0 IN ${family} ${target.host}`,
    `s=${name}`,
    `c=IN ${family} ${target.host}`,
    't=0 0',
    `m=video ${target.port} RTP/AVP 96`,
    'a=rtpmap:96 H264/90000',
    'a=fmtp:96 packetization-mode=1',
    '',
  ].join('\n');
}
