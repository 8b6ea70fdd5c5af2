/**
 * Per-channel rate control (P §3.5 "Rate Control": "pre-arranged rate limitations"; §2:
 * "respecting pre-determined communication rate guarantees"), enforced in the same outbound path
 * as the template check: a token bucket of WIRE bytes (the frame plus what the link adds to it:
 * `netioWireBytes`, kernel/abi/netio.ts). A send the bucket cannot cover is not refused: the
 * module blocks the sending thread until the bucket will hold the frame's bytes (netio.ts), so a
 * flooding library waits in the kernel, costing no CPU, instead of spinning on refusals.
 *
 * Integer arithmetic on simulated ns: tokens are kept in byte·ns/s units (bytes × 1e9), so refill
 * over dt ns at r bytes/s adds exactly dt × r, and the time a deficit takes is an exact ceiling.
 * The rate can change (the module re-shares a link's unreserved capacity as channels come and
 * go): the tokens earned so far are settled at the old rate first.
 */
export interface RateLimit {
  /** Sustained rate in bytes per second (> 0). */
  readonly bytesPerSecond: number;
  /** Bucket depth in bytes (the largest burst). */
  readonly burstBytes: number;
}

export class TokenBucket {
  /** Tokens in units of bytes × 1e9 (byte·ns per second), so refill is exact integer math. */
  private tokensScaled: number;
  private lastNs: number;
  private readonly capScaled: number;
  private rate: number;

  constructor(limit: RateLimit, nowNs: number) {
    this.capScaled = limit.burstBytes * 1e9;
    this.tokensScaled = this.capScaled;
    this.lastNs = nowNs;
    this.rate = limit.bytesPerSecond;
  }

  get bytesPerSecond(): number {
    return this.rate;
  }
  get burstBytes(): number {
    return this.capScaled / 1e9;
  }

  /** Bring the tokens up to `nowNs` at the current rate (never past the depth). */
  private refill(nowNs: number): void {
    const dt = nowNs - this.lastNs;
    if (dt <= 0) return;
    this.lastNs = nowNs;
    const room = this.capScaled - this.tokensScaled;
    // dt × rate only when it cannot pass the depth (keeps every product below 2^53).
    this.tokensScaled = dt >= Math.ceil(room / this.rate) ? this.capScaled : this.tokensScaled + dt * this.rate;
  }

  /** A frame longer than the depth takes a full bucket (it could never be covered otherwise). */
  private need(bytes: number): number {
    return Math.min(bytes * 1e9, this.capScaled);
  }

  /** Take `bytes` at `nowNs` if the bucket holds them; false (taking nothing) otherwise. */
  take(bytes: number, nowNs: number): boolean {
    this.refill(nowNs);
    const need = this.need(bytes);
    if (need > this.tokensScaled) return false;
    this.tokensScaled -= need;
    return true;
  }

  /** The earliest time (ns, ≥ nowNs) at which `bytes` will be in the bucket at the current rate. */
  readyAt(bytes: number, nowNs: number): number {
    this.refill(nowNs);
    const deficit = this.need(bytes) - this.tokensScaled;
    return deficit <= 0 ? nowNs : Math.max(nowNs, this.lastNs) + Math.ceil(deficit / this.rate);
  }

  /** Change the rate from `nowNs` on (tokens earned until then are settled at the old rate). */
  setRate(bytesPerSecond: number, nowNs: number): void {
    this.refill(nowNs);
    this.rate = bytesPerSecond;
  }
}
