/**
 * A per-channel token bucket (beyond the paper: its §3.5 names rate control as unbuilt), checked
 * in the same outbound path as the template: a packet leaves only if the bucket holds its bytes.
 * Integer arithmetic on simulated ns, so runs stay exact.
 */
export interface RateLimit {
  /** Sustained rate in bytes per second. */
  readonly bytesPerSecond: number;
  /** Bucket depth in bytes (the largest burst). */
  readonly burstBytes: number;
}

export class TokenBucket {
  /** Tokens in units of bytes × 1e9 (byte·ns per second), so refill is exact integer math. */
  private tokensScaled: number;
  private lastNs: number;
  private readonly capScaled: number;

  constructor(
    readonly limit: RateLimit,
    nowNs: number,
  ) {
    this.capScaled = limit.burstBytes * 1e9;
    this.tokensScaled = this.capScaled;
    this.lastNs = nowNs;
  }

  /** Take `bytes` at `nowNs` if available; false (taking nothing) otherwise. */
  take(bytes: number, nowNs: number): boolean {
    const dt = Math.max(0, nowNs - this.lastNs);
    this.lastNs = Math.max(this.lastNs, nowNs);
    this.tokensScaled = Math.min(this.capScaled, this.tokensScaled + dt * this.limit.bytesPerSecond);
    const need = bytes * 1e9;
    if (need > this.tokensScaled) return false;
    this.tokensScaled -= need;
    return true;
  }
}
