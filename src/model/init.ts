// `model init`: a fresh FCN-8s checkpoint, optionally with VGG16 encoder weights imported from ONNX.

import { UserError } from '../system/errors.js';
import { saveModel } from './checkpoint.js';
import { CAFFE_VGG_NORMALIZATION, createFcn8s, type FcnConfig, type FcnHead } from './fcn8s.js';
import { initTf, type TfBackendInfo } from './tf.js';

export interface InitOptions {
  numClasses: number;
  size: { height: number; width: number };
  widthMultiplier: number;
  head: string;
  seed: number;
  outDir: string;
}

export interface InitResult {
  outDir: string;
  head: FcnHead;
  parameters: number;
  backend: TfBackendInfo;
}

export function parseHead(head: string): FcnHead {
  if (head !== 'fcn8s' && head !== 'original')
    throw new UserError(`--head must be fcn8s or original, got "${head}"`);
  return head;
}

export async function initModel(options: InitOptions): Promise<InitResult> {
  const head = parseHead(options.head);
  const backend = await initTf('auto');
  const config: FcnConfig = {
    numClasses: options.numClasses,
    height: options.size.height,
    width: options.size.width,
    widthMultiplier: options.widthMultiplier,
    head,
    inputChannelOrder: 'BGR',
    normalization: CAFFE_VGG_NORMALIZATION,
  };
  const model = createFcn8s(config, { seed: options.seed });
  try {
    await saveModel(options.outDir, model, {
      provenance: { createdBy: 'edgeseg model init', seed: options.seed },
    });
    return {
      outDir: options.outDir,
      head,
      parameters: model.parameterCount(),
      backend,
    };
  } finally {
    model.dispose();
  }
}
