// Frames: every processed frame goes out as a mask PNG, a stats JSON and a rate-limited overlay
// JPEG (pipeline/publisher encodes them); the `snapshot` request asks for one overlay now.

import { EmptyRequestSchema } from '../../mqtt/requests.js';
import { FramePublisher } from '../../pipeline/publisher.js';
import type { DaemonContext } from '../context.js';
import type { Part } from '../part.js';

export class Frames implements Part {
  readonly name = 'frames';
  private unsubscribe: Array<() => void> = [];

  constructor(private readonly context: DaemonContext) {}

  start(): void {
    const { config, model, connection, topics, logger, bus, bursts, requests } = this.context;
    const publisher = new FramePublisher(config, model.manifest, connection, topics, logger);
    requests.on('snapshot', EmptyRequestSchema, async () => {
      publisher.requestSnapshot();
      return { topic: topics.snapshot };
    });
    this.unsubscribe = [
      bus.subscribe('frameProcessed', (processed) => {
        try {
          bus.emit('frameStats', publisher.publish(processed));
        } catch (error) {
          bursts.warn('publish', 'publishing a frame failed', { err: (error as Error).message });
        }
      }),
      bus.subscribe('configChanged', (next) => publisher.update(next, this.context.model.manifest)),
      bus.subscribe('modelChanged', ({ manifest }) => publisher.update(this.context.config, manifest)),
    ];
  }

  stop(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    this.context.requests.off('snapshot');
  }
}
