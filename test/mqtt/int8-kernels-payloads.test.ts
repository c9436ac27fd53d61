// The int8 kernel family of a running int8 model reaches the `info` topic (and /api/info) and the
// `status` topic (and /api/status), and passes their published schemas; fp32 models say nothing.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import { statusPayload } from '../../src/daemon/extensions/availability.js';
import type { EngineInfo } from '../../src/engine/types.js';
import { readManifest } from '../../src/model/manifest.js';
import { infoPayload } from '../../src/mqtt/info.js';
import { InfoPayloadSchema, StatusPayloadSchema } from '../../src/mqtt/payloads.js';
import { topicsFor } from '../../src/mqtt/topics.js';
import { repoRoot } from '../helpers/cli.js';

const modelDir = join(repoRoot, 'models/synthetic-road-fcn8s-int8');
const manifest = await readManifest(modelDir);
const config = validateConfig(
  {
    device_id: 'cam-1',
    source: 'test://synthetic-road',
    model: modelDir,
    mqtt: { url: 'mqtt://127.0.0.1:1883' },
  },
  'test',
);
const engine = (int8Kernels?: EngineInfo['int8Kernels']): EngineInfo => ({
  runtime: 'onnxruntime',
  provider: 'cpu',
  fallbackReasons: [],
  inputDims: [],
  outputDims: [],
  ...(int8Kernels ? { int8Kernels } : {}),
});
const state = {
  instanceId: 'abc',
  rejectedRemoteConfig: undefined,
  duplicate: undefined,
  engineLost: undefined,
};

test('info and status carry the int8 kernel family of an int8 model, and only then', () => {
  const info = (int8Kernels?: EngineInfo['int8Kernels']) =>
    InfoPayloadSchema.strict().parse(
      infoPayload({
        config,
        manifest,
        engine: engine(int8Kernels),
        topics: topicsFor('edgeseg', 'cam-1'),
        requests: [],
      }),
    );
  assert.equal(info('x86-no-vnni').model.int8Kernels, 'x86-no-vnni');
  assert.equal('int8Kernels' in info().model, false);

  const status = (int8Kernels?: EngineInfo['int8Kernels']) =>
    StatusPayloadSchema.strict().parse(
      JSON.parse(statusPayload('online', { config, manifest, engine: engine(int8Kernels), state })),
    );
  assert.equal(status('arm64-no-dotprod').int8Kernels, 'arm64-no-dotprod');
  assert.equal('int8Kernels' in status(undefined), false);
  assert.throws(() => StatusPayloadSchema.parse({ ...status('x86-vnni'), int8Kernels: 'x86-avx9' }));
});
