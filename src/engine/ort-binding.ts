// The seam between edgeseg and whichever onnxruntime-node release is installed: the npm 1.30 build
// off the board, or the 1.11 build native/ makes for JetPack 4.6 (CUDA 10.2, TensorRT 8.2). 1.11's
// JavaScript API lacks env.versions, listSupportedBackends, input/output metadata and
// session.release, accepts "cuda" without using it (its binding only names the provider) and loads
// ONNX opsets up to 16; each difference is handled here, by feature, not by version number.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import type { OnnxIo } from '../model/model-dir.js';
import { fitOpset, readGraphFacts } from './onnx-opset.js';
import type { ExecutionProviderName } from './types.js';

/** What 1.20+ has and 1.11 does not, typed as optional so each use checks for it. */
interface ModernOrt {
  listSupportedBackends?: () => Array<{ name: string; bundled: boolean }>;
}
interface ModernSession {
  inputMetadata?: readonly ort.InferenceSession.ValueMetadata[];
  outputMetadata?: readonly ort.InferenceSession.ValueMetadata[];
  release?: () => Promise<void>;
}

/** The folder of the onnxruntime-node package that `import 'onnxruntime-node'` loads. */
export const ortPackageDir: string = dirname(
  fileURLToPath(import.meta.resolve('onnxruntime-node/package.json')),
);

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export const onnxRuntimeVersion: string =
  ort.env.versions?.common ?? String(readJson(join(ortPackageDir, 'package.json'))?.version ?? 'unknown');

/** The overlay native/build-onnxruntime-jetson.sh unpacks says which providers its build has. */
const nativeBuild = readJson(join(ortPackageDir, 'edgeseg-native.json'));
const nativeProviders = Array.isArray(nativeBuild?.providers)
  ? (nativeBuild.providers as string[])
  : undefined;

const [major = 0, minor = 0] = onnxRuntimeVersion.split('.').map(Number);
/** onnxruntime's own table (docs: ONNX Runtime compatibility) for the releases that refuse opset 17. */
const OPSET_BEFORE_1_12: Record<number, number> = { 8: 14, 9: 15, 10: 15, 11: 16 };
/**
 * The highest default-domain ONNX opset this release loads, where it is below what edgeseg exports
 * (17): 1.11 refuses opset 17 as "under development". From 1.12 on onnxruntime loads opset 17 and
 * judges anything newer itself (undefined).
 */
export const maxOnnxOpset: number | undefined =
  major === 1 && minor < 12 ? (OPSET_BEFORE_1_12[minor] ?? 13) : undefined;

/** Why a provider cannot be tried at all in this build, or undefined when it may work. */
export function providerUnavailableReason(provider: ExecutionProviderName): string | undefined {
  if (provider === 'cpu') return undefined;
  const listed = (ort as ModernOrt).listSupportedBackends?.();
  if (listed) {
    if (listed.some((backend) => backend.name === provider)) return undefined;
    return `${provider}: not supported by this onnxruntime-node build (${onnxRuntimeVersion})`;
  }
  // No list to ask, and 1.11's npm binding accepts "cuda" and then runs on the CPU: only a build
  // whose edgeseg-native.json names the provider is trusted with it.
  if (nativeProviders?.includes(provider)) return undefined;
  return `${provider}: onnxruntime-node ${onnxRuntimeVersion} ${nativeProviders ? `was built with ${nativeProviders.join(', ')}` : 'is the CPU-only npm build'} (see native/)`;
}

/** A note for a provider that was tried and failed to start. */
export function providerFailureNote(provider: ExecutionProviderName): string {
  const bundled = (ort as ModernOrt).listSupportedBackends?.().find((b) => b.name === provider)?.bundled;
  return bundled === false ? ' (not bundled with this onnxruntime-node build; see native/)' : '';
}

/** Graph inputs/outputs read from the file, for bindings that cannot report them. */
const graphIo = new WeakMap<ort.InferenceSession, OnnxIo>();

/** Where a re-stamped copy of a model is kept between starts: a cache folder and the model's sha256. */
export interface RestampCache {
  dir: string;
  onnxSha256: string;
}

/**
 * Creates a session on `onnxPath`. Where the binding cannot describe its inputs and outputs, the
 * model is read here once for them; where the runtime is older than the export, a re-stamped copy
 * (see onnx-opset.ts) is written to `cache` (kept for the next start) or to a temp folder (removed
 * once the session holds the model) and loaded by path: 1.11 ignores every session option, the
 * execution providers included, for a model passed as bytes.
 */
export async function createSession(
  onnxPath: string,
  options: ort.InferenceSession.SessionOptions,
  cache?: RestampCache,
): Promise<ort.InferenceSession> {
  if (maxOnnxOpset === undefined) {
    const session = await ort.InferenceSession.create(onnxPath, options);
    // 1.12 to 1.20 load opset 17 but cannot describe their inputs and outputs either.
    if (!(session as ModernSession).inputMetadata)
      graphIo.set(session, readGraphFacts(onnxPath, await readFile(onnxPath)).io);
    return session;
  }
  const bytes = await readFile(onnxPath);
  const facts = readGraphFacts(onnxPath, bytes);
  let loadPath = onnxPath;
  let scratch: string | undefined;
  if (facts.opset > maxOnnxOpset) {
    const restamped = fitOpset(onnxPath, bytes, facts, maxOnnxOpset, `onnxruntime ${onnxRuntimeVersion}`);
    if (cache) {
      loadPath = join(cache.dir, `${cache.onnxSha256.slice(0, 16)}-opset${maxOnnxOpset}.onnx`);
      const kept = await stat(loadPath).catch(() => undefined);
      if (kept?.size !== restamped.length) {
        await mkdir(cache.dir, { recursive: true });
        const partial = `${loadPath}.${randomBytes(4).toString('hex')}.partial`;
        await writeFile(partial, restamped);
        await rename(partial, loadPath);
      }
    } else {
      scratch = await mkdtemp(join(tmpdir(), 'edgeseg-opset-'));
      loadPath = join(scratch, 'model.onnx');
      await writeFile(loadPath, restamped);
    }
  }
  try {
    const session = await ort.InferenceSession.create(loadPath, options);
    graphIo.set(session, facts.io);
    return session;
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

/** The session's inputs and outputs, from the binding where it reports them, else from the file. */
export function sessionIo(session: ort.InferenceSession): OnnxIo {
  const modern = session as ModernSession;
  if (modern.inputMetadata && modern.outputMetadata) {
    const describe = (meta: readonly ort.InferenceSession.ValueMetadata[]) =>
      meta.map((value) =>
        value.isTensor
          ? { name: value.name, type: value.type as string, shape: value.shape }
          : { name: value.name, type: 'non-tensor', shape: [] },
      );
    return { inputs: describe(modern.inputMetadata), outputs: describe(modern.outputMetadata) };
  }
  const io = graphIo.get(session);
  if (!io) throw new Error('sessionIo: session was not created through ort-binding.createSession');
  return io;
}

/**
 * Frees the native session now where the binding can (1.11 cannot: its session goes with the
 * garbage collector, so a model switch holds both models for a while; see docs/deployment.md).
 */
export async function releaseSession(session: ort.InferenceSession): Promise<void> {
  graphIo.delete(session);
  await (session as ModernSession).release?.();
}
