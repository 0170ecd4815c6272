// Logging through `proxy_log`. Envoy writes these lines under its `wasm` logger, prefixed with the plugin
// name (e.g. `[wasm] wasm log demo.hello hello: ...`), and drops lines below that logger's level.
//
// The SDK caches the host's level (`proxy_get_log_level`, re-read at every configure and tick and every 64th
// new stream, since Envoy's admin endpoint can change it at runtime), so a disabled level costs no host call. AssemblyScript evaluates arguments before the call,
// so guard expensive messages yourself:
//
//   if (log.enabled(LogLevel.Debug)) log.debug("matched rule " + i.toString() + " for " + path);

import { LogLevel } from "./abi/enums";
import * as host from "./hostcalls";

// Until the first refresh (e.g. during `_initialize`, where only `proxy_log` is allowed) every level is on.
let cachedLevel: LogLevel = LogLevel.Trace;

/** Re-reads the host's log level. Called by the dispatcher; not valid during `_initialize`. */
export function refreshLogLevel(): void {
  cachedLevel = host.getLogLevel();
}

export namespace log {
  /** True when a line at `level` would be written by the host (as of the last refresh). */
  export function enabled(level: LogLevel): bool {
    return level >= cachedLevel;
  }

  /** Logs at `level` when enabled. Valid in every callback and during `_initialize`. */
  export function at(level: LogLevel, message: string): void {
    if (level >= cachedLevel) host.log(level, message);
  }

  export function trace(message: string): void {
    at(LogLevel.Trace, message);
  }

  export function debug(message: string): void {
    at(LogLevel.Debug, message);
  }

  export function info(message: string): void {
    at(LogLevel.Info, message);
  }

  export function warn(message: string): void {
    at(LogLevel.Warn, message);
  }

  export function error(message: string): void {
    at(LogLevel.Error, message);
  }

  export function critical(message: string): void {
    at(LogLevel.Critical, message);
  }
}
