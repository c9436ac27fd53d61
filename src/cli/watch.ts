// `edgeseg watch`: subscribe to a daemon's topics and show live statistics in the terminal.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import mqtt from 'mqtt';
import { HealthPayloadSchema, StatsPayloadSchema, StatusPayloadSchema } from '../mqtt/payloads.js';
import { describeSystemError } from '../system/os-errors.js';
import { integerOption } from './parse.js';

interface WatchOptions {
  broker: string;
  baseTopic: string;
  device: string;
  saveMasks?: string;
  count?: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('watch')
    .description("show a daemon's live statistics, status and health from MQTT")
    .option('--broker <url>', 'MQTT broker URL', 'mqtt://127.0.0.1:1883')
    .option('--base-topic <topic>', 'base topic', 'edgeseg')
    .addOption(new Option('--device <id>', 'device id').default('+', 'all devices'))
    .option('--save-masks <dir>', 'also save every class mask PNG into this folder')
    .addOption(integerOption('--count <n>', 'exit after this many stats messages', { min: 1 }))
    .option('--json', 'print the raw JSON messages, one per line')
    .action(async (options: WatchOptions) => {
      await watch(options);
    });
}

async function watch(options: WatchOptions): Promise<void> {
  const client = mqtt.connect(options.broker, { reconnectPeriod: 2000, connectTimeout: 10_000 });
  const prefix = `${options.baseTopic}/${options.device}`;
  let statsSeen = 0;
  let saveFailed = false;
  if (options.saveMasks) await mkdir(options.saveMasks, { recursive: true });
  client.on('connect', () => {
    const topics = [
      `${prefix}/status`,
      `${prefix}/stats`,
      `${prefix}/health`,
      `${prefix}/mask`,
      `${prefix}/response/+`,
    ];
    // Said once the broker has the subscriptions: from then on nothing published is missed.
    client.subscribe(topics, (error) => {
      if (!error) process.stderr.write(`watching ${prefix}/# on ${options.broker} (Ctrl-C to stop)\n`);
    });
  });
  // Report a broker problem once, not at every reconnect attempt.
  let lastError = '';
  client.on('error', (error) => {
    if (error.message !== lastError) process.stderr.write(`mqtt: ${error.message} (retrying)\n`);
    lastError = error.message;
  });
  await new Promise<void>((resolve) => {
    let finished = false;
    const done = () => {
      finished = true;
      client.end(true);
      resolve();
    };
    process.once('SIGINT', done);
    client.on('message', (topic, payload) => {
      // Messages already received when --count is reached are not printed: --count 2 prints 2.
      if (finished) return;
      const [, device, ...rest] = topic.split('/');
      const kind = rest.join('/');
      if (kind === 'mask') {
        if (options.saveMasks)
          // A full or read-only disk is said once; the statistics go on.
          writeFile(join(options.saveMasks, `${device}-${Date.now()}.png`), payload).catch(
            (error: unknown) => {
              if (!saveFailed)
                process.stderr.write(
                  `edgeseg: --save-masks: ${describeSystemError(error) ?? String(error)}\n`,
                );
              saveFailed = true;
            },
          );
        return;
      }
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ topic, payload: safeJson(payload) })}\n`);
      } else {
        process.stdout.write(`${formatLine(device ?? '?', kind, safeJson(payload))}\n`);
      }
      if (kind === 'stats' && options.count !== undefined && ++statsSeen >= options.count) done();
    });
  });
}

function safeJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return payload.toString('utf8');
  }
}

function formatLine(device: string, kind: string, message: unknown): string {
  const percent = (fractions: Record<string, number>) =>
    Object.entries(fractions)
      .map(([name, value]) => `${name} ${(value * 100).toFixed(1)}%`)
      .join('  ');
  // A message that is not what its schema says (another version, another publisher) is shown raw.
  const raw = `${device} ${kind}: ${JSON.stringify(message)}`;
  switch (kind) {
    case 'stats': {
      const stats = StatsPayloadSchema.safeParse(message);
      if (!stats.success) return raw;
      const { seq, latencyMs, classFractions, regions } = stats.data;
      const regionText = Object.entries(regions)
        .map(([name, fractions]) => ` | ${name}: ${percent(fractions)}`)
        .join('');
      return `${device} #${seq} age ${latencyMs.total} ms (queue ${latencyMs.queue}, inference ${latencyMs.inference} ms)  ${percent(classFractions)}${regionText}`;
    }
    case 'status': {
      const status = StatusPayloadSchema.safeParse(message);
      if (!status.success) return raw;
      const { state, version, model } = status.data;
      return `${device} status: ${state} (version ${version}, model ${model})`;
    }
    case 'health': {
      const health = HealthPayloadSchema.safeParse(message);
      if (!health.success) return raw;
      const { fps, frames, inferenceMs, rssBytes } = health.data;
      return `${device} health: ${fps} fps, frames in ${frames.in} out ${frames.out} dropped ${frames.dropped}, inference p50 ${inferenceMs.p50} ms p99 ${inferenceMs.p99} ms, rss ${Math.round(rssBytes / 1e6)} MB`;
    }
    default:
      return raw;
  }
}
