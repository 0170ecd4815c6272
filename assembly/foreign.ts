// Envoy's foreign functions (`proxy_call_foreign_function`).

import { callForeignFunction } from "./hostcalls";

/**
 * Asks Envoy to pick the route again for the current request (foreign function `clear_route_cache`,
 * Envoy 1.33+). Returns false when the host does not provide it. For ABI 0.2.1 modules Envoy also clears
 * the route cache by itself whenever request headers change; see RATIONALE.md for what we measured.
 */
export function clearRouteCache(): bool {
  return callForeignFunction("clear_route_cache", null) !== null;
}
