// `edgeseg run`: the daemon, from a config file or as the built-in demo (embedded MQTT broker,
// synthetic camera, bundled model).

import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import {
  type ConfigPatch,
  configSecrets,
  environmentOverrides,
  loadConfig,
  mergePatch,
  readConfigFile,
} from '../config/load.js';
import { ENVIRONMENT_KEYS } from '../config/schema.js';
import { type DaemonHandle, startDaemon } from '../daemon/boot.js';
import { type EmbeddedBroker, startEmbeddedBroker } from '../mqtt/broker.js';
import { webAddresses } from '../mqtt/info.js';
import { UserError } from '../system/errors.js';
import { createLogger } from '../system/log.js';
import { onShutdown } from '../system/signals.js';
import { packageRoot } from '../system/version.js';
import { reportError } from './main.js';
import { integerOption } from './parse.js';

/** The demo runs the light ResNet18 model: more accurate and faster than the VGG16 one (its README). */
export const DEMO_MODEL = join(packageRoot, 'models', 'synthetic-road-fcn8s-resnet18');

/** A stop that takes longer exits anyway: below the unit's TimeoutStopSec=20, so it is said, not killed. */
const SHUTDOWN_DEADLINE_MS = 15_000;

export function register(program: Command): void {
  program
    .command('run')
    .description('run the segmentation daemon: camera frames in, class masks and statistics out over MQTT')
    .option('-c, --config <file>', 'YAML config file (see docs/config.md)')
    .option('--demo', 'built-in demo: embedded MQTT broker, synthetic road camera, bundled model')
    .addOption(
      integerOption('--port <port>', 'demo broker port (default 1883, or a free one if taken)', {
        min: 0,
        max: 65535,
      }),
    )
    .addOption(
      integerOption('--http-port <port>', 'demo web page port (default 8080, or a free one if taken)', {
        min: 0,
        max: 65535,
      }),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  edgeseg run --demo            # then open the printed live page address\n  edgeseg run --config /etc/edgeseg/config.yaml\n\nThese environment variables override the config file (secrets belong there, not in the file):\n' +
        ENVIRONMENT_KEYS.map(({ env, path }) => `  ${env.padEnd(25)} ${path.join('.')}`).join('\n'),
    )
    .action(async (options: { config?: string; demo?: boolean; port?: number; httpPort?: number }) => {
      if (!options.config && !options.demo)
        throw new UserError('give --config FILE or --demo', {
          hint: 'edgeseg run --demo starts everything on this machine',
        });
      let broker: EmbeddedBroker | undefined;
      let daemon: DaemonHandle | undefined;
      onShutdown(
        async () => {
          await daemon?.stop();
          await broker?.stop();
        },
        (message) => process.stderr.write(`edgeseg: ${message}\n`),
        SHUTDOWN_DEADLINE_MS,
      );
      try {
        let base: ConfigPatch;
        let origin: string;
        if (options.demo) {
          if (!existsSync(join(DEMO_MODEL, 'manifest.json'))) {
            throw new UserError(`the demo model is missing: ${DEMO_MODEL}`, {
              hint: 'train it as models/synthetic-road-fcn8s-resnet18/README.md says',
            });
          }
          broker = await startDemoBroker(options.port ?? 1883);
          base = demoConfig(broker.url, await freeLoopbackPort(options.httpPort ?? 8080));
          if (options.config) base = mergePatch(base, await readConfigFile(options.config)) as ConfigPatch;
          origin = options.config ? `demo config + ${options.config}` : 'demo config';
        } else {
          base = await readConfigFile(options.config!);
          origin = options.config!;
        }
        base = mergePatch(base, environmentOverrides(process.env)) as ConfigPatch;
        const loaded = await loadConfig(base, origin);
        const logger = createLogger({
          level: loaded.config.log.level,
          format: loaded.config.log.format,
          secrets: [...configSecrets(loaded.config), ...configSecrets(loaded.baseConfig)],
        });
        daemon = await startDaemon(loaded, origin, logger);
        if (broker) {
          const { http } = loaded.config;
          process.stderr.write(
            `\nedgeseg demo running: broker ${broker.url}, device ${loaded.config.device_id}\n` +
              (http.enabled ? `  live page:    ${webAddresses(http).page}\n` : '') +
              `  live stats:   ${cliCommand()} watch --broker ${broker.url}\n` +
              `  raw messages: mosquitto_sub -h 127.0.0.1 -p ${broker.port} -t '${daemon.current.topics.base}/#' -v\n` +
              `  stop: Ctrl-C\n\n`,
          );
        }
      } catch (error) {
        // A fatal start error ends the process now: no broker, timer or worker may keep it alive.
        await broker?.stop().catch(() => {});
        process.exit(reportError(error));
      }
    });
}

/**
 * How to type edgeseg here: in a checkout (from src/ or from dist/, as `npm start` runs it) the
 * checkout's bin/edgeseg, since nothing put `edgeseg` on the PATH; in an installed package (which
 * ships no bin/ folder) the installed command.
 */
function cliCommand(): string {
  const bin = join(packageRoot, 'bin', 'edgeseg');
  if (!existsSync(bin)) return 'edgeseg';
  const script = relative(process.cwd(), bin);
  return script.startsWith('..') ? bin : script;
}

async function startDemoBroker(port: number): Promise<EmbeddedBroker> {
  try {
    return await startEmbeddedBroker(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return startEmbeddedBroker(0);
  }
}

/** The preferred port when it is free on loopback, else one the system picks. */
function freeLoopbackPort(preferred: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE' || preferred === 0) reject(error);
      else resolve(freeLoopbackPort(0));
    });
    probe.listen(preferred, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : preferred;
      probe.close(() => resolve(port));
    });
  });
}

function demoConfig(brokerUrl: string, httpPort: number): ConfigPatch {
  return {
    device_id: 'demo',
    source: 'test://synthetic-road',
    model: DEMO_MODEL,
    state_dir: join(tmpdir(), 'edgeseg-demo-state'),
    fps: 5,
    // aedes speaks MQTT 3.1.1 (protocol 4) only.
    mqtt: { url: brokerUrl, protocol_version: 4 },
    publish: { overlay: { enabled: true, interval_ms: 2000 } },
    http: { enabled: true, port: httpPort },
    regions: [
      {
        name: 'lane_ahead',
        polygon: [
          [0.4, 1],
          [0.47, 0.55],
          [0.53, 0.55],
          [0.6, 1],
        ],
      },
    ],
  };
}
