// The running model of the daemon: its engine and segmenter, and the switch to another model
// (loaded and warmed beside the running one, swapped in between two frames, the old one released).
// An engine that dies by itself (its worker thread ended) is reloaded from the configured model,
// with a backoff, while status and health say so.

import type { Config } from '../config/schema.js';
import { createEngine } from '../engine/create.js';
import type { InferenceEngine } from '../engine/types.js';
import type { FrameLoop } from '../pipeline/frame-loop.js';
import { Segmenter } from '../segment/segmenter.js';
import { afterStart, asError, errorMessage } from '../system/errors.js';
import type { Logger } from '../system/log.js';
import type { PreparedModel } from './context.js';
import { engineOptionsFromConfig } from './engine-options.js';
import type { EventBus } from './event-bus.js';
import type { Part } from './part.js';

/** Reload delays after an engine was lost: 1 s, doubling, at most a minute. */
const RELOAD_FIRST_MS = 1000;
const RELOAD_MAX_MS = 60_000;
/** An engine that ran this long before it died starts the backoff afresh. */
const RELOAD_RESET_AFTER_MS = 5 * 60_000;

export class Inference implements Part {
  readonly name = 'inference';
  private engine: InferenceEngine | undefined;
  private segmenterValue: Segmenter | undefined;
  private loop: FrameLoop | undefined;
  private stopping = false;
  private reloadTimer: NodeJS.Timeout | undefined;
  private reloadAttempts = 0;
  private activatedAtMs = 0;

  constructor(
    private readonly settings: () => Config,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    /** Told what is wrong while a lost engine is being reloaded (undefined once it runs again). */
    private readonly reportLost: (problem: string | undefined) => void = () => {},
  ) {}

  get running(): InferenceEngine {
    return afterStart(this.engine, 'Inference', 'used');
  }

  get segmenter(): Segmenter {
    return afterStart(this.segmenterValue, 'Inference', 'used');
  }

  /** The loop whose segmenter a model switch replaces. */
  attach(loop: FrameLoop): void {
    this.loop = loop;
  }

  async start(): Promise<void> {
    if (this.engine) return;
    const { engine, segmenter } = await this.load(this.settings().model);
    this.engine = engine;
    this.segmenterValue = segmenter;
    this.activatedAtMs = Date.now();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reloadTimer);
    this.reloadTimer = undefined;
    const engine = this.engine;
    this.engine = undefined;
    await engine?.stop();
  }

  private lost(engine: InferenceEngine, error: Error): void {
    if (this.stopping || engine !== this.engine || this.reloadTimer) return;
    if (Date.now() - this.activatedAtMs > RELOAD_RESET_AFTER_MS) this.reloadAttempts = 0;
    this.reportLost(error.message);
    this.scheduleReload(engine, error);
  }

  private scheduleReload(lostEngine: InferenceEngine, error: Error): void {
    const delayMs = Math.min(RELOAD_MAX_MS, RELOAD_FIRST_MS * 2 ** this.reloadAttempts);
    this.reloadAttempts++;
    this.logger.error(
      { err: error.message, retryInMs: delayMs },
      'inference engine lost; reloading the model',
    );
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = undefined;
      void this.reload(lostEngine);
    }, delayMs);
  }

  private async reload(lostEngine: InferenceEngine): Promise<void> {
    // A model switch since then replaced the lost engine already.
    if (this.stopping || this.engine !== lostEngine) return;
    try {
      const prepared = await this.prepare(this.settings().model);
      if (this.stopping || this.engine !== lostEngine) {
        await prepared.discard();
        return;
      }
      await prepared.activate();
      this.logger.info({ model: this.settings().model }, 'model reloaded after its engine was lost');
      this.reportLost(undefined);
    } catch (error) {
      if (this.stopping) return;
      this.scheduleReload(lostEngine, asError(error));
    }
  }

  async prepare(modelDir: string): Promise<PreparedModel> {
    const { engine, segmenter } = await this.load(modelDir);
    let settled = false;
    return {
      activate: async () => {
        if (settled) return;
        settled = true;
        const old = this.engine;
        try {
          await this.loop?.replaceSegmenter(segmenter);
        } catch (error) {
          // Not swapped in: the old model still runs, and the new one is released here (discard()
          // after a failed activate() does nothing).
          await engine.stop().catch(() => {});
          throw error;
        }
        this.engine = engine;
        this.segmenterValue = segmenter;
        this.activatedAtMs = Date.now();
        // The new model runs from here on: a failure to release the old one is logged, not undone.
        await old
          ?.stop()
          .catch((error: unknown) =>
            this.logger.warn({ err: errorMessage(error) }, 'releasing the previous model failed'),
          );
        this.bus.emit('modelChanged', { manifest: engine.manifest, info: engine.info });
      },
      discard: async () => {
        if (settled) return;
        settled = true;
        await engine.stop();
      },
    };
  }

  private async load(modelDir: string): Promise<{ engine: InferenceEngine; segmenter: Segmenter }> {
    const engine = await createEngine(modelDir, engineOptionsFromConfig(this.settings(), this.logger));
    engine.onLost?.((error) => this.lost(engine, error));
    try {
      const segmenter = new Segmenter(engine);
      await segmenter.ready();
      return { engine, segmenter };
    } catch (error) {
      await engine.stop();
      throw error;
    }
  }
}
