// The callbacks a proxy-wasm module exports, in groups. A filter's entry file re-exports them, which is what
// makes the compiled `.wasm` a proxy-wasm module. Everything, the safe default:
//
//   export * from "../../assembly/exports";
//
// Or only what the filter handles. Envoy does not enter the VM for a callback the module does not export, so
// a header-only filter saves several VM calls per request (and a little module size):
//
//   export * from "../../assembly/exports/base";             // always
//   export * from "../../assembly/exports/request-headers";  // onRequestHeaders
//   export * from "../../assembly/exports/response-headers"; // onResponseHeaders
//   // also: request-body, request-trailers, response-body, response-trailers, metadata, tcp
//
// A callback left out is never called, whatever the context class overrides; the emulator skips missing
// exports exactly like Envoy, so a filter's tests show it at once.
//
// `_initialize` (the module's top-level code) is emitted by the compiler (`--exportStart _initialize`).
// Host-returned memory is allocated by `proxy_on_memory_allocate` as unmanaged heap memory that the SDK
// frees once it copied the bytes (see RATIONALE.md). `malloc` is deliberately not exported: cpp-host
// would prefer it over `proxy_on_memory_allocate`.

export * from "./exports/base";
export * from "./exports/request-headers";
export * from "./exports/request-body";
export * from "./exports/request-trailers";
export * from "./exports/response-headers";
export * from "./exports/response-body";
export * from "./exports/response-trailers";
export * from "./exports/metadata";
export * from "./exports/tcp";
