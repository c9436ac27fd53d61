// The model manifest: everything an engine needs to feed a model and read its output, in one
// validated schema. Written by `edgeseg export`, drafted by `edgeseg models manifest` for models
// trained elsewhere, verified on every load.

import { join } from 'node:path';
import { z } from 'zod';
import { readRegularFile, UnreadableFileShape } from '../system/bounded-read.js';
import { errorMessage, FileError } from '../system/errors.js';

export const MANIFEST_FILE = 'manifest.json';
export const ONNX_FILE = 'model.onnx';
export const TFJS_DIR = 'tfjs';

const rgb = z.tuple([
  z.number().int().min(0).max(255),
  z.number().int().min(0).max(255),
  z.number().int().min(0).max(255),
]);
const triple = z.tuple([z.number(), z.number(), z.number()]);

export const ClassInfoSchema = z.object({
  id: z.number().int().min(0).max(254),
  name: z.string().min(1),
  color: rgb.describe('RGB colour used in colour masks, overlays and colour-coded ground truth'),
  ignore: z.boolean().default(false).describe('excluded from the loss and the metrics (void / unlabeled)'),
});
export type ClassInfo = z.infer<typeof ClassInfoSchema>;

/**
 * What the engine must feed: a float tensor in `layout`, channels in `channelOrder`, each value
 * `(pixel * scale - mean[c]) / std[c]` for 0-255 pixels. Models exported by edgeseg normalise
 * inside the graph, so for them scale=1, mean=0, std=1 (raw pixels) and `inModelNormalization`
 * records what the graph does.
 */
export const InputContractSchema = z.object({
  name: z.string().default('image'),
  layout: z.enum(['NCHW', 'NHWC']),
  height: z.number().int().positive(),
  width: z.number().int().positive(),
  channelOrder: z.enum(['RGB', 'BGR']),
  dtype: z.enum(['float32', 'uint8']).default('float32'),
  scale: z.number().positive().default(1),
  mean: triple.default([0, 0, 0]),
  std: triple.default([1, 1, 1]),
  resize: z.enum(['stretch', 'letterbox']).default('stretch'),
  inModelNormalization: z
    .object({ scale: z.number().positive(), mean: triple, std: triple, source: z.string() })
    .optional()
    .describe('normalisation the graph applies itself (informational; callers feed raw pixels)'),
});
export type InputContract = z.infer<typeof InputContractSchema>;

export const OutputContractSchema = z.object({
  name: z.string().default('logits'),
  kind: z.enum(['logits', 'probabilities', 'classIds']),
  layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
});
export type OutputContract = z.infer<typeof OutputContractSchema>;

export const ArchitectureSchema = z.object({
  family: z.enum(['fcn8s-vgg16', 'fcn8s-resnet18', 'fcn8s-mobilenetv3']).describe('FCN-8s and its encoder'),
  head: z
    .enum(['fcn8s', 'original'])
    .describe('fcn8s: cascaded paper head; original: parallel 8/16/32 upsampling'),
  width: z.number().positive().describe('channel width multiplier; 1 is the real VGG16'),
  parameters: z.number().int().nonnegative(),
});

/**
 * onnxruntime's int8 (uint8 x int8) CPU kernel families, which can round differently: x86 with VNNI
 * (exact int32 dot products), x86 without (`vpmaddubsw`, two products summed into a saturating
 * int16), arm64 with the dot-product extension (sdot/udot) and arm64 without (plain NEON).
 */
export const INT8_KERNEL_FAMILIES = [
  'x86-vnni',
  'x86-no-vnni',
  'arm64-dotprod',
  'arm64-no-dotprod',
  'other',
] as const;
export type Int8KernelFamily = (typeof INT8_KERNEL_FAMILIES)[number];

/** One held-out mIoU measurement: what `edgeseg eval` reports on the same split and sample count. */
const HeldOutMIoUSchema = z.number().min(0).max(1);

/**
 * How an int8 model was made by `edgeseg quantize`: the QDQ format, the calibration set, the
 * calibration methods compared, the layers left in float and why, and the accuracy measured.
 */
export const QuantizationSchema = z.object({
  format: z.literal('qdq').describe('QuantizeLinear/DequantizeLinear pairs in an opset-17 graph'),
  weights: z.literal('int8-per-channel-symmetric'),
  weightBits: z
    .union([z.literal(7), z.literal(8)])
    .default(8)
    .describe(
      'significant bits of the int8 weights: 7 (|q| <= 63) is exact on every onnxruntime CPU kernel; 8 saturates on x86 without VNNI. Absent (older models): 8',
    ),
  activations: z
    .enum(['uint8', 'int8'])
    .describe('uint8: asymmetric, fused by onnxruntime CPU; int8: symmetric (zero point 0), for TensorRT'),
  calibration: z.object({
    dataSource: z.string(),
    dataSourceOptions: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    images: z.number().int().positive(),
    split: z.literal('training'),
    seed: z.number().int(),
    method: z.enum(['minmax', 'percentile', 'entropy']),
    percentile: z.number().optional(),
  }),
  /** Held-out mIoU of each calibration method tried, every layer quantized that could be. */
  methods: z.array(z.object({ method: z.string(), mIoU: HeldOutMIoUSchema })),
  quantizedLayers: z.array(z.string()),
  floatLayers: z.array(z.object({ layer: z.string(), reason: z.string() })),
  /** Held-out mIoU with each layer alone back in float, when measured. */
  layerSensitivity: z.array(z.object({ layer: z.string(), mIoU: HeldOutMIoUSchema })).optional(),
  accuracy: z.object({
    dataSource: z.string(),
    samples: z.number().int().positive(),
    fp32MIoU: HeldOutMIoUSchema,
    int8MIoU: HeldOutMIoUSchema,
    int8Kernels: z
      .array(z.enum(INT8_KERNEL_FAMILIES))
      .optional()
      .describe('onnxruntime int8 kernel families on which eval gave int8MIoU (absent: not recorded)'),
    quickCheck: z
      .object({ samples: z.number().int().positive(), int8MIoU: HeldOutMIoUSchema })
      .optional()
      .describe('`edgeseg eval --limit <samples>` gives int8MIoU: a check fast enough for an emulated CPU'),
  }),
  source: z.object({ name: z.string(), onnxSha256: z.string() }),
  command: z.string().optional(),
  edgesegVersion: z.string().optional(),
  quantizedAt: z.string().optional(),
});
export type Quantization = z.infer<typeof QuantizationSchema>;

export const ModelManifestSchema = z.object({
  formatVersion: z.literal(1),
  name: z.string().min(1),
  description: z.string().optional(),
  precision: z
    .enum(['fp32', 'int8'])
    .default('fp32')
    .describe('fp32, or int8 (QDQ) as written by `edgeseg quantize`; manifests without it are fp32'),
  quantization: QuantizationSchema.optional(),
  architecture: ArchitectureSchema.optional(),
  classes: z.array(ClassInfoSchema).min(2),
  input: InputContractSchema,
  output: OutputContractSchema,
  files: z.object({
    onnx: z.string().default(ONNX_FILE),
    onnxSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256'),
    tfjs: z
      .string()
      .optional()
      .describe('folder with the tfjs copy of the weights, relative to the model dir'),
  }),
  training: z
    .object({
      dataSource: z.string(),
      epochs: z.number().int().nonnegative(),
      validationMIoU: z.number().min(0).max(1).optional(),
      validationPixelAccuracy: z.number().min(0).max(1).optional(),
      command: z.string().optional(),
      finishedAt: z.string().optional(),
      edgesegVersion: z.string().optional(),
      /** Held-out split and labelling options the run used (e.g. validationFraction); eval reuses them. */
      dataSourceOptions: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    })
    .passthrough()
    .optional(),
});
export type ModelManifest = z.infer<typeof ModelManifestSchema>;

/** Formats zod issues as `<path>: <message>` lines, e.g. `input.height: expected number`. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

export function parseManifest(json: unknown, path: string): ModelManifest {
  const result = ModelManifestSchema.safeParse(json);
  if (!result.success) throw new FileError(path, `invalid model manifest: ${formatIssues(result.error)}`);
  for (const [index, cls] of result.data.classes.entries()) {
    if (cls.id !== index)
      throw new FileError(
        path,
        `invalid model manifest: classes.${index}.id is ${cls.id}, expected ${index} (ids are the output channel order)`,
      );
  }
  return result.data;
}

/** Manifests and checkpoint metadata are kilobytes; a class list of thousands is still far below. */
const MAX_JSON_FILE_BYTES = 16 * 1_048_576;

/** Reads and parses a JSON file; `unreadable` says what the file should have been if it cannot be read. */
export async function readJsonFile(path: string, unreadable: string): Promise<unknown> {
  let text: string;
  try {
    text = await readRegularFile(path, { maxBytes: MAX_JSON_FILE_BYTES });
  } catch (error) {
    if (error instanceof UnreadableFileShape) throw new FileError(path, `${error.problem}; ${unreadable}`);
    throw new FileError(path, unreadable, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new FileError(path, `not valid JSON: ${errorMessage(error)}`);
  }
}

/** Reads and validates `<modelDir>/manifest.json` (no file hashing; see model-store/model-dir for that). */
export async function readManifest(modelDir: string): Promise<ModelManifest> {
  const path = join(modelDir, MANIFEST_FILE);
  const json = await readJsonFile(path, 'cannot read the model manifest (is this a model directory?)');
  return parseManifest(json, path);
}

/** A model's identity in status, metrics and logs: its name and the start of its ONNX hash. */
export function modelId(manifest: ModelManifest): string {
  return `${manifest.name}@${manifest.files.onnxSha256.slice(0, 12)}`;
}
