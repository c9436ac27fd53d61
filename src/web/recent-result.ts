// An expensive answer (a /metrics render that reads /proc, a health payload) computed at most once
// per `maxAgeMs` whoever asks: concurrent callers share the pending computation, later ones reuse
// its result until it is older than `maxAgeMs`. A flood of requests then costs one computation.

export class RecentResult<T> {
  private pending: Promise<T> | undefined;
  private settledAt = 0;

  constructor(
    private readonly compute: () => Promise<T>,
    private readonly maxAgeMs: number,
  ) {}

  get(): Promise<T> {
    if (this.pending && (this.settledAt === 0 || Date.now() - this.settledAt < this.maxAgeMs))
      return this.pending;
    this.settledAt = 0;
    const pending = this.compute();
    this.pending = pending;
    pending.then(
      () => {
        if (this.pending === pending) this.settledAt = Date.now();
      },
      // A failure is not kept: the next caller tries again.
      () => {
        if (this.pending === pending) this.pending = undefined;
      },
    );
    return pending;
  }
}
