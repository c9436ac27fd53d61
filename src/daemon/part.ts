// The lifecycle seam of the daemon: every long-lived part (the engine, the MQTT connection, the
// frame loop, the frame source, each behaviour under extensions/) starts and stops the same way.
// The controller starts parts in order and stops them in reverse (zigbee2mqtt's controller).

export interface Part {
  /** Names the part in logs ("health", "availability", ...). */
  readonly name: string;
  /** Starts the part; a failure here is a fatal start error for the daemon. */
  start(): Promise<void> | void;
  /** Stops the part: idempotent, never throws for a part that did not start. */
  stop(): Promise<void> | void;
}
