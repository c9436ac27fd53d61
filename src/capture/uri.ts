// Frame-source URIs, parsed once at the border into a typed SourceSpec. Each scheme has its own
// grammar (paths, hosts, ports, query options); whitespace, quotes, pipeline and shell syntax are
// refused, so what reaches a capture command is a value we have read character by character.

import { UserError } from '../system/errors.js';
import { urlHostProblem } from '../system/hosts.js';
import { redactUrlCredentials } from '../system/redact.js';

export type SourceSpec =
  | { scheme: 'csi'; sensorId: number }
  | { scheme: 'v4l2'; device: string }
  | {
      scheme: 'rtsp' | 'rtsps';
      host: string;
      port: number | undefined;
      /** Path and query exactly as given (each character from the grammar below). */
      path: string;
      query: string;
      username: string | undefined;
      password: string | undefined;
    }
  | { scheme: 'file'; path: string }
  | { scheme: 'images'; pattern: string }
  | { scheme: 'videotest' }
  | { scheme: 'test'; name: 'synthetic-road' };

export const SOURCE_URI_MAX_LENGTH = 2048;
export const SOURCE_EXAMPLES =
  'csi://0, v4l2:///dev/video0, rtsp://camera.local:554/stream, file:///var/lib/edgeseg/video.mp4, dir:///var/lib/edgeseg/frames, videotest://, test://synthetic-road';

/** A source URI problem; the message never repeats credentials. */
export class SourceUriError extends UserError {
  constructor(problem: string) {
    super(problem, { hint: `source URIs look like ${SOURCE_EXAMPLES}` });
    this.name = 'UserError';
  }
}

// Absolute or relative file paths: letters, digits and . _ - + @ = , : ~ / only. No spaces, quotes,
// backslashes, ! | ; & $ ` ( ) < > or control characters; no `..` segments.
const PATH_CHARS = /^[A-Za-z0-9._\-+@=,:~/]+$/;
// Globs for image folders add * ? [ ] { }.
const GLOB_CHARS = /^[A-Za-z0-9._\-+@=,:~/*?[\]{}]+$/;
const V4L2_DEVICE = /^\/dev\/(video([0-9]|[1-5][0-9]|6[0-3])|v4l\/by-(id|path)\/[A-Za-z0-9._:+-]{1,200})$/;
// RTSP path and query: unreserved characters, / : @ + = and percent escapes; & between options.
const RTSP_PATH = /^(\/([A-Za-z0-9._~:@+=-]|%[0-9A-Fa-f]{2})*)*$/;
const RTSP_QUERY = /^([A-Za-z0-9._~+-]|%[0-9A-Fa-f]{2})+(=([A-Za-z0-9._~+-]|%[0-9A-Fa-f]{2})*)?$/;
const USERINFO = /^([A-Za-z0-9._~+-]|%[0-9A-Fa-f]{2})*$/;

export function parseSourceUri(uri: string): SourceSpec {
  if (uri.length === 0) throw new SourceUriError('source: empty');
  if (uri.length > SOURCE_URI_MAX_LENGTH)
    throw new SourceUriError(`source: longer than ${SOURCE_URI_MAX_LENGTH} characters`);
  if (/[\s\u0000-\u001f\u007f]/.test(uri))
    throw new SourceUriError('source: whitespace and control characters are not allowed');
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(uri);
  if (!schemeMatch) return { scheme: 'images', pattern: checkPath(uri, 'source', GLOB_CHARS) };
  const scheme = schemeMatch[1]!.toLowerCase();
  const rest = schemeMatch[2]!;
  switch (scheme) {
    case 'csi': {
      if (!/^([0-9]|1[0-5])$/.test(rest))
        throw new SourceUriError('source: expected csi://<sensor-id> with a sensor id 0..15, e.g. csi://0');
      return { scheme, sensorId: Number(rest) };
    }
    case 'v4l2': {
      const device = rest === '' ? '/dev/video0' : rest;
      if (!V4L2_DEVICE.test(device))
        throw new SourceUriError(
          'source: expected v4l2:///dev/videoN (N 0..63) or v4l2:///dev/v4l/by-id/<name> (by-path too)',
        );
      return { scheme, device };
    }
    case 'rtsp':
    case 'rtsps':
      return parseRtsp(scheme, rest);
    case 'file':
      return { scheme, path: checkPath(localPath(rest, 'file'), 'source (file path)', PATH_CHARS) };
    case 'dir':
      return {
        scheme: 'images',
        pattern: checkPath(localPath(rest, 'dir'), 'source (folder)', PATH_CHARS),
      };
    case 'videotest':
      if (rest !== '') throw new SourceUriError('source: videotest:// takes no host, path or options');
      return { scheme };
    case 'test':
      if (rest !== 'synthetic-road')
        throw new SourceUriError('source: unknown test source (use test://synthetic-road)');
      return { scheme, name: 'synthetic-road' };
    default:
      throw new SourceUriError(`source: unsupported scheme "${scheme.slice(0, 20)}"`);
  }
}

/** file:///abs/path and dir:///abs/path: an absolute path, no host, no query or fragment. */
function localPath(rest: string, scheme: string): string {
  if (rest.startsWith('localhost/')) rest = rest.slice('localhost'.length);
  if (!rest.startsWith('/'))
    throw new SourceUriError(`source: expected ${scheme}:///absolute/path (three slashes, no host)`);
  return rest;
}

function checkPath(path: string, what: string, chars: RegExp): string {
  if (!chars.test(path))
    throw new SourceUriError(
      `${what}: only letters, digits, / . _ - + @ = , : ~ are allowed in paths${chars === GLOB_CHARS ? ' (and * ? [ ] { } in globs)' : ''}; rename or link the file`,
    );
  if (path.split('/').includes('..')) throw new SourceUriError(`${what}: ".." is not allowed in paths`);
  return path;
}

function parseRtsp(scheme: 'rtsp' | 'rtsps', rest: string): SourceSpec {
  const match = /^(?:([^@/?#]*)@)?(\[[^\]/]*\]|[^:/?#]*)(?::([0-9]{1,5}))?([^?#]*)(?:\?([^#]*))?$/.exec(rest);
  if (!match) throw new SourceUriError(`source: not a valid ${scheme}:// URL (fragments are not allowed)`);
  const [, userinfo, rawHost, rawPort, path = '', query = ''] = match;
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const [user = '', pass] = userinfo.split(/:(.*)/s);
    if (!USERINFO.test(user) || (pass !== undefined && !USERINFO.test(pass)))
      throw new SourceUriError(
        'source: camera credentials may hold letters, digits, . _ ~ + - and %XX escapes only (or set EDGESEG_SOURCE_USERNAME / EDGESEG_SOURCE_PASSWORD)',
      );
    username = decodeURIComponent(user);
    password = pass === undefined ? undefined : decodeURIComponent(pass);
  }
  const host = checkHost(rawHost ?? '');
  let port: number | undefined;
  if (rawPort !== undefined) {
    port = Number(rawPort);
    if (port < 1 || port > 65535) throw new SourceUriError('source: the port must be 1..65535');
  }
  if (!RTSP_PATH.test(path) || path.split('/').includes('..'))
    throw new SourceUriError(
      'source: the RTSP path may hold letters, digits, / . _ ~ : @ + = - and %XX escapes only (no .. segments)',
    );
  if (query !== '' && !query.split('&').every((option) => RTSP_QUERY.test(option)))
    throw new SourceUriError(
      'source: RTSP query options must be name=value pairs of letters, digits, . _ ~ + - and %XX escapes, joined by &',
    );
  return { scheme, host, port, path, query, username, password };
}

/** The host of a source URI, checked with the one host grammar (system/hosts). */
function checkHost(host: string): string {
  const problem = urlHostProblem(host);
  if (problem) throw new SourceUriError(`source: ${problem}`);
  return host;
}

/** The URI as it may be shown: credentials replaced by ***. */
export function redactSourceUri(uri: string): string {
  return redactUrlCredentials(uri);
}

/** The RTSP URL for a capture tool, rebuilt from the checked parts with the given credentials. */
export function rtspUrl(
  spec: Extract<SourceSpec, { scheme: 'rtsp' | 'rtsps' }>,
  credentials: { username?: string | undefined; password?: string | undefined } = spec,
): string {
  const { username, password } = credentials;
  const userinfo =
    username === undefined
      ? ''
      : `${strictEncode(username)}${password === undefined ? '' : `:${strictEncode(password)}`}@`;
  const port = spec.port === undefined ? '' : `:${spec.port}`;
  return `${spec.scheme}://${userinfo}${spec.host}${port}${spec.path}${spec.query ? `?${spec.query}` : ''}`;
}

/** Percent-encodes everything but letters, digits and . _ ~ - (encodeURIComponent leaves !'()*). */
function strictEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
