// test://synthetic-road: generated road scenes at the fps limit, for the demo and the tests.
// Two frame buffers alternate so a frame stays intact while the next one is rendered.

import { renderSyntheticScene, type SyntheticScene } from '../data/synthetic-road.js';
import { FrameSource, type FrameSourceOptions } from './types.js';

export class SyntheticFrameSource extends FrameSource {
  private timer: NodeJS.Timeout | undefined;
  private seed = 1;
  private readonly scenes: SyntheticScene[];
  private current = 0;

  constructor(label: string, options: FrameSourceOptions) {
    super(label, options);
    const size = { height: options.height, width: options.width };
    this.scenes = [renderSyntheticScene(0, size), renderSyntheticScene(0, size)];
  }

  protected begin(): void {
    this.tick();
  }

  protected end(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (!this.running) return;
    const started = Date.now();
    const scene = renderSyntheticScene(
      this.seed++,
      { height: this.options.height, width: this.options.width },
      this.scenes[this.current],
    );
    this.current = 1 - this.current;
    this.deliver({
      data: scene.image,
      width: this.options.width,
      height: this.options.height,
      captureTimeMs: Date.now(),
    });
    this.timer = setTimeout(() => this.tick(), Math.max(0, 1000 / this.options.fps - (Date.now() - started)));
  }
}
