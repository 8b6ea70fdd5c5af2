/**
 * Typed event emitters for taps (typed-emitter's types over node:events; zero runtime code).
 * Listeners run synchronously in registration order, so taps stay deterministic. Taps observe:
 * a listener must never change simulated state.
 */
import { EventEmitter } from 'node:events';
import type * as TypedEmitterModule from 'typed-emitter';

export type EventMap = TypedEmitterModule.EventMap;
export type TypedEmitter<T extends EventMap> = TypedEmitterModule.default<T>;

export function createEmitter<T extends EventMap>(maxListeners = 64): TypedEmitter<T> {
  const e = new EventEmitter() as TypedEmitter<T>;
  e.setMaxListeners(maxListeners);
  return e;
}
