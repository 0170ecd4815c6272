// Network-filter callbacks → `StreamContext` (`envoy.filters.network.wasm`).
// One of the export groups described in ../exports.ts.

import { Action, PeerType } from "../abi/enums";
import * as d from "../internal/dispatcher";

export function proxy_on_new_connection(contextId: u32): Action {
  return d.onNewConnection(contextId);
}

export function proxy_on_downstream_data(contextId: u32, dataSize: u32, endOfStream: bool): Action {
  return d.onDownstreamData(contextId, dataSize, endOfStream);
}

export function proxy_on_downstream_connection_close(contextId: u32, peerType: PeerType): void {
  d.onDownstreamConnectionClose(contextId, peerType);
}

export function proxy_on_upstream_data(contextId: u32, dataSize: u32, endOfStream: bool): Action {
  return d.onUpstreamData(contextId, dataSize, endOfStream);
}

export function proxy_on_upstream_connection_close(contextId: u32, peerType: PeerType): void {
  d.onUpstreamConnectionClose(contextId, peerType);
}
