// Control requests: `pause` stops taking frames (the watchdog is still fed), `resume` starts again.

import { EmptyRequestSchema } from '../../mqtt/requests.js';
import type { DaemonContext } from '../context.js';
import type { Part } from '../part.js';

export class Control implements Part {
  readonly name = 'control';

  constructor(private readonly context: DaemonContext) {}

  start(): void {
    const { requests, pipeline } = this.context;
    requests
      .on('pause', EmptyRequestSchema, async () => {
        pipeline.setPaused(true);
        return { paused: true };
      })
      .on('resume', EmptyRequestSchema, async () => {
        pipeline.setPaused(false);
        return { paused: false };
      });
  }

  stop(): void {
    this.context.requests.off('pause').off('resume');
  }
}
