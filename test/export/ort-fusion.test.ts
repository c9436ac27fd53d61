// The exported graph uses only plain ops that onnxruntime's optimiser (and TensorRT) can fuse:
// after onnxruntime's 'extended' optimisation every Conv+Relu pair is one FusedConv.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { exportModel } from '../../src/export/export.js';
import { CAFFE_VGG_NORMALIZATION } from '../../src/model/architecture.js';
import { createFcn8s } from '../../src/model/fcn8s.js';
import { initTf } from '../../src/model/tf.js';
import { makeTempDir } from '../helpers/tmp.js';

const { onnx } = onnxProto;

before(async () => {
  await initTf('auto');
});

function opCounts(model: onnxProto.onnx.ModelProto): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of model.graph?.node ?? []) {
    const op = node.domain ? `${node.domain}:${node.opType}` : (node.opType ?? '?');
    counts[op] = (counts[op] ?? 0) + 1;
  }
  return counts;
}

for (const head of ['fcn8s', 'original'] as const) {
  test(`${head} head: opset 17, plain ops only, and onnxruntime fuses all 15 Conv+Relu pairs`, async () => {
    const dir = await makeTempDir();
    const model = createFcn8s({
      numClasses: 2,
      height: 64,
      width: 96,
      widthMultiplier: 1 / 16,
      head,
      inputChannelOrder: 'BGR',
      normalization: CAFFE_VGG_NORMALIZATION,
    });
    await exportModel(model, join(dir, 'model'));
    model.dispose();
    const exported = onnx.ModelProto.decode(await readFile(join(dir, 'model', 'model.onnx')));
    assert.deepEqual(
      exported.opsetImport.map((o) => [o.domain, Number(o.version)]),
      [['', 17]],
    );
    const plain = new Set(['Mul', 'Sub', 'Conv', 'Relu', 'MaxPool', 'ConvTranspose', 'Add', 'Identity']);
    const exportedOps = opCounts(exported);
    assert.deepEqual(
      Object.keys(exportedOps).filter((op) => !plain.has(op)),
      [],
    );
    assert.equal(exportedOps.Relu, 15);
    assert.equal(exportedOps.ConvTranspose, 3);

    const optimizedPath = join(dir, 'optimized.onnx');
    const session = await ort.InferenceSession.create(join(dir, 'model', 'model.onnx'), {
      graphOptimizationLevel: 'extended',
      optimizedModelFilePath: optimizedPath,
    });
    await session.release();
    const optimizedOps = opCounts(onnx.ModelProto.decode(await readFile(optimizedPath)));
    assert.equal(optimizedOps['com.microsoft:FusedConv'], 15, JSON.stringify(optimizedOps));
    assert.equal(optimizedOps.Relu, undefined, JSON.stringify(optimizedOps));
  });
}
