/**
 * Faults a link injects, drawn from the run's PRNG (one named stream per link direction), so a
 * failing run replays from its seed. Used by the Ethernet segment and the AN1 link alike.
 */
import type { Rng } from '../sim/rng.ts';

export interface FaultConfig {
  /** Probability a frame vanishes. */
  readonly loss?: number;
  /** Probability one bit of a frame is flipped (the receiver's FCS check catches it). */
  readonly corrupt?: number;
  /** Probability a frame is delivered twice. */
  readonly duplicate?: number;
  /** Probability a frame is held back by up to `reorderDelayNsMax`, letting later ones pass. */
  readonly reorder?: number;
  readonly reorderDelayNsMax?: number;
  /** Extra propagation delay added to every frame, in ns. */
  readonly delayNs?: number;
}

export const NO_FAULTS: FaultConfig = {};

/** What happens to one frame. */
export interface FaultDecision {
  readonly drop: boolean;
  /** Bit index to flip, or -1. */
  readonly flipBit: number;
  readonly duplicate: boolean;
  /** Extra delay for this frame (fixed delay + any reordering hold-back), ns. */
  readonly extraDelayNs: number;
}

export interface FaultCounters {
  dropped: number;
  corrupted: number;
  duplicated: number;
  reordered: number;
}

export class FaultInjector {
  readonly counters: FaultCounters = { dropped: 0, corrupted: 0, duplicated: 0, reordered: 0 };
  private readonly active: boolean;

  constructor(
    readonly config: FaultConfig,
    private readonly rng: Rng,
  ) {
    this.active =
      (config.loss ?? 0) > 0 || (config.corrupt ?? 0) > 0 || (config.duplicate ?? 0) > 0 || (config.reorder ?? 0) > 0 || (config.delayNs ?? 0) > 0;
  }

  /** Decide the fate of a frame of `lengthBytes` bytes. Draws nothing when no fault is set. */
  decide(lengthBytes: number): FaultDecision {
    if (!this.active) return CLEAN;
    const c = this.config;
    if (this.rng.chance(c.loss ?? 0)) {
      this.counters.dropped++;
      return DROPPED;
    }
    let flipBit = -1;
    if (lengthBytes > 0 && this.rng.chance(c.corrupt ?? 0)) {
      flipBit = this.rng.int(0, lengthBytes * 8);
      this.counters.corrupted++;
    }
    const duplicate = this.rng.chance(c.duplicate ?? 0);
    if (duplicate) this.counters.duplicated++;
    let extraDelayNs = c.delayNs ?? 0;
    if (this.rng.chance(c.reorder ?? 0)) {
      extraDelayNs += this.rng.int(1, Math.max(2, (c.reorderDelayNsMax ?? 100_000) + 1));
      this.counters.reordered++;
    }
    return { drop: false, flipBit, duplicate, extraDelayNs };
  }
}

const CLEAN: FaultDecision = { drop: false, flipBit: -1, duplicate: false, extraDelayNs: 0 };
const DROPPED: FaultDecision = { drop: true, flipBit: -1, duplicate: false, extraDelayNs: 0 };

export function flipBit(frame: Uint8Array, bit: number): void {
  const i = bit >>> 3;
  if (i < frame.length) frame[i] = frame[i]! ^ (1 << (bit & 7));
}
