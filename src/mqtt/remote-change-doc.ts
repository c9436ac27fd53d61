// The parts of docs/mqtt-api.md that state what config/set may change and when a change applies,
// rendered from each config key's metadata (src/config/schema-*.ts) and from the limits the code
// enforces, so that the documentation cannot drift from the policy.

import { checkRemotePatch, MAX_WAITING_CONFIG_CHANGES } from '../config/policy.js';
import {
  CONFIG_KEYS,
  ConfigSchema,
  LIVE_PARTS,
  LOCAL_ONLY_KEYS,
  LOCAL_SECRET_PATHS,
  LOCK_REASONS,
  OPERATIONAL_KEYS,
  OPERATIONAL_PATHS,
  RESTART_KEYS,
} from '../config/schema.js';
import { REQUEST_LIMITS } from './request-body.js';
import { MAX_REQUESTS_IN_FLIGHT, responseError } from './requests.js';

const code = (name: string) => `\`${name}\``;
const count = (value: number) => value.toLocaleString('en-US');
/** "a, b and c". */
const and = (items: readonly string[]) =>
  items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;

/** The prose below sets `model` apart (a name, loaded before it is used): it must be operational. */
function assertModelOperational(): void {
  if (!OPERATIONAL_KEYS.includes('model'))
    throw new Error('docs/mqtt-api.md describes `model` as operational; the schema no longer says so');
}

/**
 * `text` as lines of at most 100 characters (a code span is never split): the first starts with
 * `first`, the others with `rest`.
 */
function reflow(text: string, first = '', rest = ''): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.replace(/\s+/g, ' ').match(/(?:`[^`]*`|[^\s`])+/g) ?? []) {
    const prefix = lines.length === 0 ? first : rest;
    if (line !== '' && prefix.length + line.length + 1 + word.length > 100) {
      lines.push(prefix + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push((lines.length === 0 ? first : rest) + line);
  return lines.join('\n');
}

/** The request border and the admission limits, as the code enforces them. */
export function requestLimitsText(): string {
  const limits = REQUEST_LIMITS;
  return reflow(`Every request is checked at the border before anything acts on it: a JSON object, nested at
most ${limits.maxDepth} levels, at most ${count(limits.maxNodes)} values, strings and keys of at most
${count(limits.maxStringLength)} characters, objects and arrays of at most ${count(limits.maxEntries)} entries, no
\`__proto__\`, \`constructor\` or \`prototype\` keys. \`transaction\` is echoed only when it is a string of
at most ${limits.maxTransactionLength} characters or an integer; any other transaction gets an error without one. At
most ${MAX_REQUESTS_IN_FLIGHT} requests are handled at once and ${MAX_WAITING_CONFIG_CHANGES} \`config/set\` wait behind the one being applied;
more are answered \`busy\` at once. No payload, however formed, ends or stalls the daemon:
test/integration/daemon-fuzz.test.ts sends it 10,000 hostile ones.`);
}

/** How config/set applies a change, and which keys apply at once and which at the next start. */
export function configSetText(): string {
  assertModelOperational();
  const liveKeys = CONFIG_KEYS.filter(
    (key) => key.path.length === 1 && key.own.applies === 'live' && key.own.remote !== 'local-file',
  ).map((key) => code(key.path[0]!));
  const liveParts = Object.entries(LIVE_PARTS).flatMap(([key, parts]) =>
    parts.map((part) => code(`${key}.${part}`)),
  );
  const restart = RESTART_KEYS.map((key) =>
    LIVE_PARTS[key]?.length ? `the rest of ${code(key)}` : code(key),
  );
  return reflow(`\`config/set\` requests are applied one at a time, in the order they arrive, so no
accepted change is lost to another. Each is checked against the remote-change policy (below) and the
whole config schema, persisted atomically under \`state_dir\` (it survives restarts; a full disk gives
an error and changes nothing) and applied live where possible: ${and([...liveKeys, ...liveParts])}.
A new \`model\` is loaded and warmed before it replaces the old one; if it does not load, nothing
changes. Unlocked keys that need a restart (${restart.join(', ')}) are saved and take effect after a
restart: the response lists them in \`restartKeys\`. If applying a change fails half way, the running
config and the persisted file are put back as they were.`);
}

/** The "Remote changes" list: operational keys, locked keys with their reasons, what is never taken. */
export function remoteChangesList(): string {
  assertModelOperational();
  const operational = [
    ...OPERATIONAL_KEYS.filter((key) => key !== 'model').map(code),
    ...OPERATIONAL_PATHS.map((path) => code(path.join('.'))),
  ];
  const locked = Object.entries(LOCK_REASONS).map(([key, reason]) => {
    const open = OPERATIONAL_PATHS.filter((path) => path[0] === key).map((path) => code(path[1]!));
    return reflow(
      `${code(key)}${open.length > 0 ? ` (except ${and(open)})` : ''}: ${reason}`,
      '  - ',
      '    ',
    );
  });
  const credentials = LOCAL_SECRET_PATHS.map((path) => code(path.join('.')));
  const bullet = (text: string) => reflow(text, '- ', '  ');
  return [
    bullet(`**Operational keys, always:** ${operational.join(', ')}, and \`model\` given as the *name*
of a model folder inside \`models_dir\` (default: the folder that holds the local \`model\`), e.g.
\`{"config":{"model":"road-v2"}}\`; a path is refused. These change what the device does with its
frames, not what runs on it or whom it trusts. \`pause\`/\`resume\`/\`snapshot\` are requests of their
own.`),
    bullet('**Locked keys**, refused with an error that names the key, says why, and says how to unlock it:'),
    ...locked,
    '',
    reflow(
      `A remote \`mqtt.url\` would hand the device's credentials to any broker; \`outputs\` is described
in docs/video-out.md. The local file unlocks one by name: \`remote_config: { unlock: [source] }\`.
Unlocked values still go through the same schema: a source URI must match its scheme's grammar
(docs/capture.md), every number has a maximum.`,
      '  ',
      '  ',
    ),
    bullet(`**Never over MQTT:** credentials and key files (${credentials.join(', ')}: set them in the
environment file, docs/config.md) and ${and(LOCAL_ONLY_KEYS.map(code))} itself. \`remote_config: {
enabled: false }\` turns \`config/set\` off.`),
  ].join('\n');
}

/** How long remote MQTT settings have to connect, by default. */
export function probationDefaultSeconds(): number {
  return ConfigSchema.shape.remote_config.parse(undefined).mqtt_probation_s;
}

/** The response a locked key gets, as the policy and the request router write it. */
export function lockedKeyResponse(transaction: string): string {
  try {
    checkRemotePatch(
      { mqtt: { url: 'mqtt://elsewhere' } },
      { unlock: [], configFile: '/etc/edgeseg/config.yaml' },
    );
  } catch (error) {
    return JSON.stringify({ transaction, status: 'error', error: responseError(error) });
  }
  throw new Error('docs/mqtt-api.md shows mqtt as locked; the policy no longer locks it');
}
