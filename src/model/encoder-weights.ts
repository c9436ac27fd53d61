// Which encoder a command asked for, the input convention that goes with it, and ImageNet weights for
// it from an ONNX file: VGG16 (torchvision / ONNX model zoo) or torchvision's ResNet18 / MobileNetV3.

import { ConfigError } from '../system/errors.js';
import {
  CAFFE_VGG_NORMALIZATION,
  ENCODERS,
  type EncoderName,
  type FcnConfig,
  type NamedWeights,
  TORCHVISION_NORMALIZATION,
} from './architecture.js';
import { importTorchvisionOnnx } from './torchvision-import.js';
import { importVgg16Onnx } from './vgg16-import.js';

export function parseEncoder(text: string, flag = '--encoder'): EncoderName {
  const known = ENCODERS.find((name) => name === text);
  if (!known) throw new ConfigError(flag, `must be ${ENCODERS.join(', ')}; got ${JSON.stringify(text)}`);
  return known;
}

/**
 * The input channel order and normalisation a model is built with. ResNet18 and MobileNetV3 always
 * take torchvision's (RGB, /255, ImageNet mean/std), imported or not, so a model trained from scratch
 * and one fine-tuned from ImageNet are fed alike; VGG16 from scratch keeps the paper's Caffe BGR.
 */
export function encoderInput(
  encoder: EncoderName,
  imagenet: boolean,
): Pick<FcnConfig, 'inputChannelOrder' | 'normalization'> {
  return encoder === 'vgg16' && !imagenet
    ? { inputChannelOrder: 'BGR', normalization: CAFFE_VGG_NORMALIZATION }
    : { inputChannelOrder: 'RGB', normalization: TORCHVISION_NORMALIZATION };
}

/** The encoder's ImageNet weights from `file` (checked against `config`'s encoder and width). */
export async function importEncoderWeights(
  file: string,
  config: FcnConfig,
): Promise<{ weights: NamedWeights; sourceNodes: Record<string, string> }> {
  return (config.encoder ?? 'vgg16') === 'vgg16'
    ? importVgg16Onnx(file, config)
    : importTorchvisionOnnx(file, config);
}
