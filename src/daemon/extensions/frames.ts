// Frames: every processed frame goes out as a mask PNG, a stats JSON and a rate-limited overlay
// JPEG (pipeline/publisher encodes them); the `snapshot` request asks for one overlay now.

import { EmptyRequestSchema } from '../../mqtt/requests.js';
import { FramePublisher } from '../../pipeline/publisher.js';
import { Extension } from '../extension.js';

export class Frames extends Extension {
  readonly name = 'frames';

  start(): void {
    const { config, model, connection, topics, logger, bus } = this.context;
    const publisher = new FramePublisher(config, model.manifest, connection, topics, logger);
    this.answer('snapshot', EmptyRequestSchema, async () => {
      publisher.requestSnapshot();
      return { topic: topics.snapshot };
    });
    // A publish that throws is this listener's failure (the bus reports it under 'frames'); the
    // frameStats listeners run outside it, each isolated, so theirs is never blamed on publishing.
    this.listen('frameProcessed', (processed) => bus.emit('frameStats', publisher.publish(processed)));
    this.listen('configChanged', (next) => publisher.update(next, this.context.model.manifest));
    this.listen('modelChanged', ({ manifest }) => publisher.update(this.context.config, manifest));
  }
}
