// Shared data and shared queues: the only state shared between Envoy's worker VMs. Both are scoped by
// `vm_id` and live for the whole Envoy process (until the last VM with that vm_id goes away).
//
// Shared data has no delete and no TTL in ABI 0.2.1: bound your key space (e.g. a fixed table of hashed
// slots), never put timestamps or client addresses into keys without a bound.

import * as host from "./hostcalls";
export { SharedData } from "./hostcalls";

/** Reads `key`: its bytes and the CAS stamp, or null when the key was never written. Valid after `_initialize`. */
export function getSharedData(key: string): host.SharedData | null {
  return host.getSharedData(key);
}

/**
 * Writes `key`. With `cas` 0 the write is unconditional; otherwise it succeeds only if nobody wrote the
 * key since you read that stamp, and returns false on a conflict (read again and retry). A key that does
 * not exist yet is always written, whatever `cas` says (Envoy).
 */
export function setSharedData(key: string, value: ArrayBuffer, cas: u32 = 0): bool {
  return host.setSharedData(key, value, cas);
}

/** Creates or reopens queue `name`; the calling root context will receive `onQueueReady`. Root contexts only. */
export function registerSharedQueue(name: string): u32 {
  return host.registerSharedQueue(name);
}

/** The id of queue `name` registered by VM `vmId` ("" = this VM's vm_id), or 0 when it does not exist. */
export function resolveSharedQueue(vmId: string, name: string): u32 {
  return host.resolveSharedQueue(vmId, name);
}

/** Appends an item; the registrant's `onQueueReady` runs later on its own thread. False for an unknown queue. */
export function enqueueSharedQueue(queueId: u32, value: ArrayBuffer): bool {
  return host.enqueueSharedQueue(queueId, value);
}

/** Takes the oldest item, or null when the queue is empty (another worker may have taken it first). */
export function dequeueSharedQueue(queueId: u32): ArrayBuffer | null {
  return host.dequeueSharedQueue(queueId);
}
