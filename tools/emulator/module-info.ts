// Reads a module's imports and exports with their function signatures (Node's WebAssembly.Module.imports()
// does not report types), and checks them against what Envoy provides. Envoy refuses a module that imports
// anything it does not register ("missing import") or with another signature ("import type mismatch").

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";

export interface FuncSig {
  params: ValType[];
  results: ValType[];
}

export interface ImportEntry {
  module: string;
  name: string;
  kind: "function" | "table" | "memory" | "global";
  sig?: FuncSig;
}

export interface ExportEntry {
  name: string;
  kind: "function" | "table" | "memory" | "global";
  sig?: FuncSig;
}

export interface ModuleInfo {
  imports: ImportEntry[];
  exports: ExportEntry[];
}

const VALTYPES: Record<number, ValType> = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
  0x70: "funcref",
  0x6f: "externref",
};
const KINDS = ["function", "table", "memory", "global"] as const;

/** Parses the type, import, function and export sections of a wasm binary. */
export function readModuleInfo(bytes: Uint8Array): ModuleInfo {
  let p = 8; // magic + version
  const u8 = () => bytes[p++];
  const leb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++];
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return result;
    }
  };
  const name = (): string => {
    const n = leb();
    const s = new TextDecoder().decode(bytes.subarray(p, p + n));
    p += n;
    return s;
  };
  const limits = () => {
    const flag = u8();
    leb();
    if (flag & 1) leb();
  };
  const types: FuncSig[] = [];
  const imports: ImportEntry[] = [];
  const funcTypes: number[] = []; // function index → type index, imports first
  const exports: ExportEntry[] = [];
  while (p < bytes.length) {
    const id = u8();
    const size = leb();
    const end = p + size;
    if (id === 1) {
      const count = leb();
      for (let i = 0; i < count; i++) {
        u8(); // 0x60
        const params = Array.from({ length: leb() }, () => VALTYPES[u8()]);
        const results = Array.from({ length: leb() }, () => VALTYPES[u8()]);
        types.push({ params, results });
      }
    } else if (id === 2) {
      const count = leb();
      for (let i = 0; i < count; i++) {
        const module = name();
        const field = name();
        const kind = KINDS[u8()];
        const entry: ImportEntry = { module, name: field, kind };
        if (kind === "function") {
          const t = leb();
          funcTypes.push(t);
          entry.sig = types[t];
        } else if (kind === "table") {
          u8();
          limits();
        } else if (kind === "memory") {
          limits();
        } else {
          u8();
          u8();
        }
        imports.push(entry);
      }
    } else if (id === 3) {
      const count = leb();
      for (let i = 0; i < count; i++) funcTypes.push(leb());
    } else if (id === 7) {
      const count = leb();
      for (let i = 0; i < count; i++) {
        const n = name();
        const kind = KINDS[u8()];
        const index = leb();
        const entry: ExportEntry = { name: n, kind };
        if (kind === "function") entry.sig = types[funcTypes[index]];
        exports.push(entry);
      }
    }
    p = end;
  }
  return { imports, exports };
}

const I = "i32" as const;
const L = "i64" as const;
const sig = (params: ValType[], results: ValType[] = [I]): FuncSig => ({ params, results });
const i32s = (n: number) => sig(Array<ValType>(n).fill(I));

/**
 * Every host function Envoy 1.39 (cpp-host) registers for an ABI 0.2.1 module, with its signature.
 * Legacy 0.1.0-only functions (`proxy_get_configuration`, `proxy_continue_request`,
 * `proxy_continue_response`, `proxy_clear_route_cache`) are absent: a 0.2.1 module importing them fails.
 */
export const ENVOY_IMPORTS: Record<string, Record<string, FuncSig>> = {
  env: {
    proxy_log: i32s(3),
    proxy_get_log_level: i32s(1),
    proxy_get_current_time_nanoseconds: i32s(1),
    proxy_set_tick_period_milliseconds: i32s(1),
    proxy_set_effective_context: i32s(1),
    proxy_done: i32s(0),
    proxy_get_buffer_bytes: i32s(5),
    proxy_set_buffer_bytes: i32s(5),
    proxy_get_buffer_status: i32s(3),
    proxy_get_header_map_size: i32s(2),
    proxy_get_header_map_pairs: i32s(3),
    proxy_set_header_map_pairs: i32s(3),
    proxy_get_header_map_value: i32s(5),
    proxy_add_header_map_value: i32s(5),
    proxy_replace_header_map_value: i32s(5),
    proxy_remove_header_map_value: i32s(3),
    proxy_continue_stream: i32s(1),
    proxy_close_stream: i32s(1),
    proxy_get_status: i32s(3),
    proxy_send_local_response: i32s(8),
    proxy_http_call: i32s(10),
    proxy_grpc_call: i32s(12),
    proxy_grpc_stream: i32s(9),
    proxy_grpc_send: i32s(4),
    proxy_grpc_cancel: i32s(1),
    proxy_grpc_close: i32s(1),
    proxy_get_shared_data: i32s(5),
    proxy_set_shared_data: i32s(5),
    proxy_register_shared_queue: i32s(3),
    proxy_resolve_shared_queue: i32s(5),
    proxy_enqueue_shared_queue: i32s(3),
    proxy_dequeue_shared_queue: i32s(3),
    proxy_define_metric: i32s(4),
    proxy_increment_metric: sig([I, L]),
    proxy_record_metric: sig([I, L]),
    proxy_get_metric: i32s(2),
    proxy_get_property: i32s(4),
    proxy_set_property: i32s(4),
    proxy_call_foreign_function: i32s(6),
    // Envoy's own import and cpp-host's emscripten fillers: accepted at load time (a module may import
    // them), though no wasmgate module does.
    envoy_resolve_dns: i32s(3),
    pthread_equal: i32s(2),
    emscripten_notify_memory_growth: sig([I], []),
  },
  wasi_snapshot_preview1: {
    fd_write: i32s(4),
    fd_read: i32s(4),
    fd_seek: sig([I, L, I, I]),
    fd_close: i32s(1),
    fd_fdstat_get: i32s(2),
    fd_prestat_get: i32s(2),
    fd_prestat_dir_name: i32s(3),
    path_open: sig([I, I, I, I, I, L, L, I, I]),
    environ_get: i32s(2),
    environ_sizes_get: i32s(2),
    args_get: i32s(2),
    args_sizes_get: i32s(2),
    clock_time_get: sig([I, L, I]),
    random_get: i32s(2),
    proc_exit: sig([I], []),
    poll_oneoff: i32s(4),
    sched_yield: i32s(0),
  },
};

/** Exports a proxy-wasm module may have, with the signatures cpp-host calls them with. */
export const ABI_EXPORTS: Record<string, FuncSig> = {
  proxy_abi_version_0_2_1: sig([], []),
  _initialize: sig([], []),
  _start: sig([], []),
  main: i32s(2),
  proxy_on_memory_allocate: i32s(1),
  malloc: i32s(1),
  proxy_on_context_create: sig([I, I], []),
  proxy_on_vm_start: i32s(2),
  proxy_on_configure: i32s(2),
  proxy_on_tick: sig([I], []),
  proxy_on_queue_ready: sig([I, I], []),
  proxy_on_foreign_function: sig([I, I, I], []),
  proxy_on_new_connection: i32s(1),
  proxy_on_downstream_data: i32s(3),
  proxy_on_downstream_connection_close: sig([I, I], []),
  proxy_on_upstream_data: i32s(3),
  proxy_on_upstream_connection_close: sig([I, I], []),
  proxy_on_request_headers: i32s(3),
  proxy_on_request_body: i32s(3),
  proxy_on_request_trailers: i32s(2),
  proxy_on_request_metadata: i32s(2),
  proxy_on_response_headers: i32s(3),
  proxy_on_response_body: i32s(3),
  proxy_on_response_trailers: i32s(2),
  proxy_on_response_metadata: i32s(2),
  proxy_on_http_call_response: sig([I, I, I, I, I], []),
  proxy_on_grpc_receive_initial_metadata: sig([I, I, I], []),
  proxy_on_grpc_receive: sig([I, I, I], []),
  proxy_on_grpc_receive_trailing_metadata: sig([I, I, I], []),
  proxy_on_grpc_close: sig([I, I, I], []),
  proxy_on_done: i32s(1),
  proxy_on_log: sig([I], []),
  proxy_on_delete: sig([I], []),
};

const sigText = (s: FuncSig | undefined) => (s ? `(${s.params.join(",")})->(${s.results.join(",")})` : "?");

/**
 * Problems Envoy would report when loading this module: imports it does not provide or with another
 * signature, a missing ABI marker or allocator, an export with an unexpected signature. Empty when fine.
 */
export function checkModule(info: ModuleInfo): string[] {
  const problems: string[] = [];
  for (const imp of info.imports) {
    const where = `${imp.module}.${imp.name}`;
    if (imp.kind !== "function") {
      problems.push(`import ${where}: Envoy provides no imported ${imp.kind}`);
      continue;
    }
    const moduleTable = ENVOY_IMPORTS[imp.module === "wasi_unstable" ? "wasi_snapshot_preview1" : imp.module];
    const expected = moduleTable?.[imp.name];
    if (!expected) problems.push(`import ${where}: not provided by Envoy (missing import)`);
    else if (sigText(expected) !== sigText(imp.sig))
      problems.push(
        `import ${where}: signature ${sigText(imp.sig)} differs from Envoy's ${sigText(expected)}`,
      );
  }
  const names = new Set(info.exports.map((e) => e.name));
  if (!names.has("proxy_abi_version_0_2_1"))
    problems.push("export proxy_abi_version_0_2_1: missing (ABI marker)");
  if (!names.has("proxy_on_memory_allocate") && !names.has("malloc"))
    problems.push("export proxy_on_memory_allocate: missing (no allocator)");
  if (!names.has("memory")) problems.push("export memory: missing");
  for (const exp of info.exports) {
    if (exp.kind !== "function") continue;
    const expected = ABI_EXPORTS[exp.name];
    if (expected && sigText(expected) !== sigText(exp.sig))
      problems.push(
        `export ${exp.name}: signature ${sigText(exp.sig)} differs from the ABI's ${sigText(expected)}`,
      );
  }
  return problems;
}
