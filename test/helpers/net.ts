// Free loopback ports for test servers (brokers, metrics endpoints).

import { createServer } from 'node:net';

/**
 * A port that was free a moment ago. It is released before the caller binds it, so another
 * process can take it in between: servers started on it must retry on "address in use" (as
 * Mosquitto.start does), or better bind port 0 themselves and report the port they got.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
