// Progress bars for long work: a live bar on a terminal, sparse plain lines when piped (CI, journald).

import cliProgress from 'cli-progress';

export interface Progress {
  /** Advances by `delta` items and replaces the free-text status (e.g. "loss 0.231"). */
  tick(delta?: number, status?: string): void;
  setTotal(total: number): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Force the bar off (e.g. `--json` output, quiet mode). */
  enabled?: boolean;
  unit?: string;
  stream?: NodeJS.WriteStream;
  /** Items already done when the bar starts (a resumed job), shown at once, not ticked through. */
  initial?: number;
  /**
   * The bar's own ETA (the default) extrapolates from how fast the count moved; a caller that knows
   * better (training, from measured step times) turns it off and puts its ETA in the status.
   */
  builtInEta?: boolean;
}

export function createProgress(label: string, total: number, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const unit = options.unit ?? 'items';
  const initial = options.initial ?? 0;
  if (options.enabled === false) return { tick() {}, setTotal() {}, stop() {} };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {value}/{total} ${unit} | {percentage}%${options.builtInEta === false ? '' : ' | ETA {eta_formatted}'} | {status}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, initial, { status: '' });
    let done = initial;
    return {
      tick(delta = 1, status) {
        done += delta;
        bar.update(done, status === undefined ? undefined : { status });
      },
      setTotal(newTotal) {
        bar.setTotal(newTotal);
      },
      stop() {
        bar.stop();
      },
    };
  }
  // Not a terminal: one line per 10% (and at the end), so logs show progress without flooding.
  let done = initial;
  let current = total;
  let nextReport = Math.floor((current > 0 ? done / current : 0) * 10 + 1) / 10;
  const started = Date.now();
  return {
    tick(delta = 1, status) {
      done += delta;
      const fraction = current > 0 ? done / current : 1;
      if (fraction >= nextReport || done === current) {
        const seconds = (Date.now() - started) / 1000;
        stream.write(
          `${label}: ${done}/${current} ${unit} (${Math.round(fraction * 100)}%, ${seconds.toFixed(1)} s)${status ? ` ${status}` : ''}\n`,
        );
        while (nextReport <= fraction) nextReport += 0.1;
      }
    },
    setTotal(newTotal) {
      current = newTotal;
    },
    stop() {},
  };
}
