/**
 * A bounded FIFO of bytes over one fixed Uint8Array (the socket buffers of the TCP engine).
 * Capacity is fixed at construction: every queue in the engine has a limit.
 */
import { invariant, invariantFailed } from './result.ts';

export class ByteRing {
  private readonly buf: Uint8Array;
  private head = 0;
  private len = 0;

  constructor(readonly capacity: number) {
    invariant(Number.isInteger(capacity) && capacity > 0, 'ring capacity must be a positive integer');
    this.buf = new Uint8Array(capacity);
  }

  get length(): number { return this.len; }
  get free(): number { return this.capacity - this.len; }

  /** Appends as many bytes of `data` as fit; returns how many were taken. */
  push(data: Uint8Array): number {
    const n = Math.min(data.length, this.free);
    if (n === 0) return 0;
    const tail = (this.head + this.len) % this.capacity;
    const first = Math.min(n, this.capacity - tail);
    this.buf.set(data.subarray(0, first), tail);
    if (first < n) this.buf.set(data.subarray(first, n), 0);
    this.len += n;
    return n;
  }

  /** Copies `len` bytes starting `off` bytes after the head, without consuming them. */
  peek(off: number, len: number): Uint8Array {
    if (!(off >= 0 && len >= 0 && off + len <= this.len)) invariantFailed(`peek ${off}+${len} beyond ${this.len}`);
    const out = new Uint8Array(len);
    if (len === 0) return out;
    const start = (this.head + off) % this.capacity;
    const first = Math.min(len, this.capacity - start);
    out.set(this.buf.subarray(start, start + first), 0);
    if (first < len) out.set(this.buf.subarray(0, len - first), first);
    return out;
  }

  /** Discards `n` bytes from the head. */
  drop(n: number): void {
    if (!(n >= 0 && n <= this.len)) invariantFailed(`drop ${n} beyond ${this.len}`);
    this.head = (this.head + n) % this.capacity;
    this.len -= n;
  }

  /** Removes and returns up to `max` bytes from the head. */
  read(max: number): Uint8Array {
    const n = Math.max(0, Math.min(max, this.len));
    const out = this.peek(0, n);
    this.drop(n);
    return out;
  }
}
