// Control requests: `pause` stops taking frames (the watchdog is still fed), `resume` starts again.

import { EmptyRequestSchema } from '../../mqtt/requests.js';
import { Extension } from '../extension.js';

export class Control extends Extension {
  readonly name = 'control';

  start(): void {
    const { pipeline } = this.context;
    this.answer('pause', EmptyRequestSchema, async () => {
      pipeline.setPaused(true);
      return { paused: true };
    });
    this.answer('resume', EmptyRequestSchema, async () => {
      pipeline.setPaused(false);
      return { paused: false };
    });
  }
}
