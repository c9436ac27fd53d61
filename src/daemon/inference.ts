// The running model of the daemon: its engine and segmenter, and the switch to another model
// (loaded and warmed beside the running one, swapped in between two frames, the old one released).

import type { Config } from '../config/schema.js';
import { createEngine } from '../engine/create.js';
import { Segmenter } from '../engine/segmenter.js';
import type { InferenceEngine } from '../engine/types.js';
import type { FrameLoop } from '../pipeline/frame-loop.js';
import type { Logger } from '../system/log.js';
import type { PreparedModel } from './context.js';
import { engineOptionsFromConfig } from './engine-options.js';
import type { EventBus } from './event-bus.js';
import type { Part } from './part.js';

export class Inference implements Part {
  readonly name = 'inference';
  private engine: InferenceEngine | undefined;
  private segmenterValue: Segmenter | undefined;
  private loop: FrameLoop | undefined;

  constructor(
    private readonly settings: () => Config,
    private readonly bus: EventBus,
    private readonly logger: Logger,
  ) {}

  get running(): InferenceEngine {
    if (!this.engine) throw new Error('Inference: used before start()');
    return this.engine;
  }

  get segmenter(): Segmenter {
    if (!this.segmenterValue) throw new Error('Inference: used before start()');
    return this.segmenterValue;
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
  }

  async stop(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    await engine?.stop();
  }

  async prepare(modelDir: string): Promise<PreparedModel> {
    const { engine, segmenter } = await this.load(modelDir);
    let settled = false;
    return {
      activate: async () => {
        if (settled) return;
        settled = true;
        const old = this.engine;
        await this.loop?.replaceSegmenter(segmenter);
        this.engine = engine;
        this.segmenterValue = segmenter;
        // The new model runs from here on: a failure to release the old one is logged, not undone.
        await old
          ?.stop()
          .catch((error: unknown) =>
            this.logger.warn({ err: (error as Error).message }, 'releasing the previous model failed'),
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
