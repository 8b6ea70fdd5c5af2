/**
 * ARP cache (RFC 826) with entry timeouts and, per unresolved address, a bounded queue of frames
 * waiting for resolution. Pure bookkeeping: it returns what to send; the host stack sends it.
 */
import { type Ipv4Addr, type MacAddr, type Ns, invariant } from './result.ts';

export interface ArpConfig {
  /** Lifetime of a resolved entry (4.3BSD arpt_keep: 20 min). */
  readonly entryTimeoutNs: Ns;
  /** Interval between requests for an unresolved address. */
  readonly requestIntervalNs: Ns;
  /** Requests sent before the waiting frames are dropped. */
  readonly maxRequests: number;
  /** Frames held per unresolved address (4.3BSD holds one; we hold a few). */
  readonly maxQueuedPerHost: number;
  /** Bound on the number of cached entries. */
  readonly maxEntries: number;
}

export const DEFAULT_ARP_CONFIG: ArpConfig = {
  entryTimeoutNs: 20 * 60 * 1_000_000_000,
  requestIntervalNs: 1_000_000_000,
  maxRequests: 5,
  maxQueuedPerHost: 16,
  maxEntries: 256,
};

interface Resolved {
  readonly mac: MacAddr;
  readonly expiresAt: Ns;
}

interface Pending {
  readonly frames: Uint8Array[];
  requestsSent: number;
  nextRequestAt: Ns;
}

export interface ArpCounters {
  requestsSent: number;
  repliesSent: number;
  framesQueued: number;
  framesDroppedQueueFull: number;
  framesDroppedUnresolved: number;
}

export class ArpCache {
  private readonly resolved = new Map<Ipv4Addr, Resolved>();
  private readonly pending = new Map<Ipv4Addr, Pending>();
  readonly counters: ArpCounters = {
    requestsSent: 0, repliesSent: 0, framesQueued: 0, framesDroppedQueueFull: 0, framesDroppedUnresolved: 0,
  };

  constructor(readonly config: ArpConfig) {
    invariant(config.maxQueuedPerHost > 0 && config.maxRequests > 0, 'arp limits must be positive');
  }

  lookup(now: Ns, ip: Ipv4Addr): MacAddr | null {
    const e = this.resolved.get(ip);
    if (e === undefined) return null;
    if (now >= e.expiresAt) {
      this.resolved.delete(ip);
      return null;
    }
    return e.mac;
  }

  has(ip: Ipv4Addr): boolean {
    return this.resolved.has(ip) || this.pending.has(ip);
  }

  /**
   * Records ip → mac; returns the frames that were waiting for it (the caller patches in the MAC).
   */
  insert(now: Ns, ip: Ipv4Addr, mac: MacAddr): Uint8Array[] {
    if (!this.resolved.has(ip) && this.resolved.size >= this.config.maxEntries) {
      // Evict the entry closest to expiry (deterministic: Map iteration is insertion order).
      let victim: Ipv4Addr | null = null;
      let soonest = Number.POSITIVE_INFINITY;
      for (const [k, v] of this.resolved) if (v.expiresAt < soonest) { soonest = v.expiresAt; victim = k; }
      if (victim !== null) this.resolved.delete(victim);
    }
    this.resolved.set(ip, { mac, expiresAt: now + this.config.entryTimeoutNs });
    const p = this.pending.get(ip);
    if (p === undefined) return [];
    this.pending.delete(ip);
    return p.frames;
  }

  /** Queues a frame for an unresolved address; returns true when a request must go out now. */
  enqueue(now: Ns, ip: Ipv4Addr, frame: Uint8Array): boolean {
    let p = this.pending.get(ip);
    let requestNow = false;
    if (p === undefined) {
      p = { frames: [], requestsSent: 1, nextRequestAt: now + this.config.requestIntervalNs };
      this.pending.set(ip, p);
      this.counters.requestsSent += 1;
      requestNow = true;
    }
    if (p.frames.length >= this.config.maxQueuedPerHost) {
      p.frames.shift();
      this.counters.framesDroppedQueueFull += 1;
    }
    p.frames.push(frame);
    this.counters.framesQueued += 1;
    return requestNow;
  }

  /** Retries due requests; gives up on addresses that never answered. Returns addresses to ask for. */
  onTimer(now: Ns): Ipv4Addr[] {
    const ask: Ipv4Addr[] = [];
    for (const [ip, p] of this.pending) {
      if (now < p.nextRequestAt) continue;
      if (p.requestsSent >= this.config.maxRequests) {
        this.counters.framesDroppedUnresolved += p.frames.length;
        this.pending.delete(ip);
        continue;
      }
      p.requestsSent += 1;
      p.nextRequestAt = now + this.config.requestIntervalNs;
      this.counters.requestsSent += 1;
      ask.push(ip);
    }
    return ask;
  }

  pollAt(): Ns | null {
    let t = Number.POSITIVE_INFINITY;
    for (const p of this.pending.values()) t = Math.min(t, p.nextRequestAt);
    return t === Number.POSITIVE_INFINITY ? null : t;
  }
}
