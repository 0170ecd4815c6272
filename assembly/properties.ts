// Envoy attributes through `proxy_get_property`, with typed decoding.
//
// A path is a list of segments, sent to the host joined by NUL (`["request", "path"]` → `request\0path`);
// Envoy does not understand dotted strings except the Wasm tokens (`plugin_name`, `plugin_root_id`,
// `plugin_vm_id`, `connection_id`). Encodings (Envoy `attributes.rst`): strings and bytes raw; int, uint,
// timestamp and duration as 8-byte little-endian (times in ns); double 8 bytes; bool 1 byte; maps as a
// serialized header map. Since Envoy 1.33 the old top-level aliases (`route_name`, `node`, ...) are gone:
// use `xds.*`. A missing attribute, or one not available in the current phase, reads as null (or the
// given default); nothing here traps.

import * as host from "./hostcalls";
import { Header } from "./headers";
import { deserializeHeaders } from "./internal/serde";

/** The raw bytes of an attribute, or null. */
export function getProperty(path: Array<string>): ArrayBuffer | null {
  return host.getProperty(path);
}

/** A string attribute (`["request", "path"]`), or null when absent. */
export function getPropertyString(path: Array<string>): string | null {
  const b = host.getProperty(path);
  return b === null ? null : String.UTF8.decode(b, false);
}

/** An int/uint/timestamp/duration attribute (8 bytes LE), or `defaultValue` when absent or not 8 bytes. */
export function getPropertyI64(path: Array<string>, defaultValue: i64 = 0): i64 {
  const b = host.getProperty(path);
  if (b === null || b.byteLength != 8) return defaultValue;
  return load<i64>(changetype<usize>(b));
}

/** A double attribute, or `defaultValue`. */
export function getPropertyF64(path: Array<string>, defaultValue: f64 = 0): f64 {
  const b = host.getProperty(path);
  if (b === null || b.byteLength != 8) return defaultValue;
  return load<f64>(changetype<usize>(b));
}

/** A bool attribute (1 byte), or `defaultValue`. */
export function getPropertyBool(path: Array<string>, defaultValue: bool = false): bool {
  const b = host.getProperty(path);
  if (b === null || b.byteLength != 1) return defaultValue;
  return load<u8>(changetype<usize>(b)) != 0;
}

/** A map attribute (e.g. `["request", "headers"]`, repeated values comma-joined by Envoy), or null. */
export function getPropertyMap(path: Array<string>): Array<Header> | null {
  const b = host.getProperty(path);
  if (b === null) return null;
  return deserializeHeaders(changetype<usize>(b), <usize>b.byteLength);
}

/** Sets a string property (Envoy: filter state `wasm.<path>`, readable back and by Envoy's access log). */
export function setPropertyString(path: Array<string>, value: string): bool {
  return host.setProperty(path, String.UTF8.encode(value, false));
}

/** Sets a property to raw bytes. Needs a stream context in Envoy; false when refused. */
export function setProperty(path: Array<string>, value: ArrayBuffer): bool {
  return host.setProperty(path, value);
}

// --- Common attributes (Envoy 1.33+ names) -----------------------------------------------------------

/** Accessors for attributes every gateway filter needs. Each returns null when unavailable. */
export namespace attributes {
  /** `plugin_name`: the PluginConfig `name` (Istio: `<namespace>.<name>`). */
  export function pluginName(): string | null {
    return getPropertyString(["plugin_name"]);
  }
  /** `plugin_root_id`: the PluginConfig `root_id` (Istio: `pluginName`). */
  export function pluginRootId(): string | null {
    return getPropertyString(["plugin_root_id"]);
  }
  /** `plugin_vm_id`: the VM's `vm_id`, which scopes shared data and queues. */
  export function pluginVmId(): string | null {
    return getPropertyString(["plugin_vm_id"]);
  }
  /** `source.address`: the downstream peer as `ip:port`. */
  export function sourceAddress(): string | null {
    return getPropertyString(["source", "address"]);
  }
  /** `xds.route_name`: the name of the matched route (empty when the route has none). */
  export function routeName(): string | null {
    return getPropertyString(["xds", "route_name"]);
  }
  /** `xds.cluster_name`: the upstream cluster chosen by the route. */
  export function clusterName(): string | null {
    return getPropertyString(["xds", "cluster_name"]);
  }
  /** `request.id`: Envoy's `x-request-id`. */
  export function requestId(): string | null {
    return getPropertyString(["request", "id"]);
  }
  /** `response.code`, or -1 before a response exists. */
  export function responseCode(): i64 {
    return getPropertyI64(["response", "code"], -1);
  }
}
