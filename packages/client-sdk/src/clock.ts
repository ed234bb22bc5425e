/**
 * Estimates the server clock from `serverTime` in responses: offset = serverTime − (local time at the middle of
 * the round trip). Keeps the samples with the lowest round-trip time (their midpoint is the most precise), so a
 * device clock that is off by an hour still shows the right countdown.
 */
export class ServerClock {
  private samples: Array<{ offset: number; rtt: number }> = [];

  constructor(
    private readonly localNow: () => number = Date.now,
    private readonly keep = 5,
  ) {}

  /** A sample from a request sent at `sentAt` and answered at `receivedAt` (local ms) with `serverTime`. */
  observe(serverTime: number, sentAt: number, receivedAt: number): void {
    if (!Number.isFinite(serverTime)) return;
    const rtt = Math.max(0, receivedAt - sentAt);
    this.samples.push({ offset: serverTime - (sentAt + rtt / 2), rtt });
    this.samples.sort((a, b) => a.rtt - b.rtt);
    this.samples.length = Math.min(this.samples.length, this.keep);
  }

  /** A one-way sample (a stream frame): used only until a round trip has been measured. */
  observeOneWay(serverTime: number, receivedAt: number): void {
    if (this.samples.length === 0 && Number.isFinite(serverTime)) this.samples.push({ offset: serverTime - receivedAt, rtt: Number.MAX_SAFE_INTEGER });
  }

  offset(): number {
    return this.samples[0]?.offset ?? 0;
  }

  /** The server's time now, epoch ms. */
  now(): number {
    return this.localNow() + this.offset();
  }
}
