// What every InferenceEngine shares: its model folder, options and logger; manifest and info that
// are read only once it has started; and a start() that loads once however often it is called.

import type { ModelManifest } from '../model/manifest.js';
import { loadModelDir, type ModelDir } from '../model/model-dir.js';
import { afterStart } from '../system/errors.js';
import { type Logger, silentLogger } from '../system/log.js';
import type { EngineInfo, EngineOptions } from './types.js';

export abstract class EngineBase {
  readonly modelDir: string;
  protected readonly options: EngineOptions;
  protected readonly logger: Logger;
  /** The model folder, loaded by start() unless the caller already had it. */
  protected model: ModelDir | undefined;
  protected engineInfo: EngineInfo | undefined;
  private started: Promise<void> | undefined;

  /** `name` names the engine in programmer errors ("TfjsEngine: info read before start()"). */
  constructor(
    protected readonly name: string,
    modelDir: string,
    options: EngineOptions,
    model?: ModelDir,
  ) {
    this.modelDir = modelDir;
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.model = model;
  }

  /** Where this engine's manifest comes from (the model folder, or a worker's report). */
  protected loadedManifest(): ModelManifest | undefined {
    return this.model?.manifest;
  }

  get manifest(): ModelManifest {
    return afterStart(this.loadedManifest(), this.name, 'manifest read');
  }

  get info(): EngineInfo {
    return afterStart(this.engineInfo, this.name, 'info read');
  }

  start(): Promise<void> {
    this.started ??= this.load();
    return this.started;
  }

  /** The work of start(): runs once until stop() calls forgetStart(). */
  protected abstract load(): Promise<void>;

  /** For stop(): the next start() loads afresh. */
  protected forgetStart(): void {
    this.started = undefined;
  }

  /** The model folder (read and, unless options.skipSha256, checked once). */
  protected async loadModelFolder(): Promise<ModelDir> {
    this.model ??= await loadModelDir(this.modelDir, { verifySha256: this.options.skipSha256 !== true });
    return this.model;
  }
}
