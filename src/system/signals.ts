// The one place SIGTERM/SIGINT are handled: the first runs the shutdown handler (drain, publish
// `stopped`, exit 0); a second one forces the exit.

export function onShutdown(
  handler: (signal: NodeJS.Signals) => Promise<void>,
  log: (message: string) => void = () => {},
): () => void {
  let shuttingDown = false;
  const listener = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      log(`${signal} again: exiting now`);
      process.exit(1);
    }
    shuttingDown = true;
    handler(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        log(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', listener);
  process.on('SIGINT', listener);
  return () => {
    process.off('SIGTERM', listener);
    process.off('SIGINT', listener);
  };
}
