// hello: the smallest useful wasmgate filter, and the SDK's worked example.
//
// For every request it adds a configured header (default `x-wasmgate-hello`) whose value is the configured
// text, optionally followed by the downstream address read from the `source.address` property; it counts
// requests in the `hello_requests_total` metric and logs each request at debug.
//
//   pluginConfig: { "header": "x-wasmgate-hello", "value": "hello from wasmgate", "includeSource": true }

import {
  Action,
  ConfigReader,
  Counter,
  HttpContext,
  LogLevel,
  RootContext,
  getPropertyString,
  isHeaderName,
  log,
  registerRootContext,
} from "../../assembly";
// hello only handles request headers: export just those callbacks (see assembly/exports.ts), so Envoy
// does not enter the VM for response headers and bodies.
export * from "../../assembly/exports/base";
export * from "../../assembly/exports/request-headers";

/** Requests seen by this plugin, across all workers (`wasmcustom.hello_requests_total` in Envoy's /stats). */
const requests = new Counter("hello_requests_total");

class HelloRoot extends RootContext {
  header: string = "x-wasmgate-hello";
  value: string = "hello from wasmgate";
  includeSource: bool = false;

  override onConfigure(configurationSize: u32): bool {
    const r = ConfigReader.parse(this.getPluginConfiguration());
    const header = r.optionalNonEmptyString("header", "x-wasmgate-hello");
    if (header.length > 0 && !isHeaderName(header))
      r.fieldError("header", 'expected a lower-case HTTP header name, got "' + header + '"');
    const value = r.optionalString("value", "hello from wasmgate");
    const includeSource = r.optionalBool("includeSource", false);
    r.finish();
    if (!r.ok) {
      r.logErrors("hello");
      return false;
    }
    this.header = header;
    this.value = value;
    this.includeSource = includeSource;
    log.info("hello: configured header " + header);
    return true;
  }

  override newHttpContext(contextId: u32): HttpContext | null {
    return new Hello(contextId, this);
  }
}

class Hello extends HttpContext {
  override onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const root = this.root as HelloRoot;
    let value = root.value;
    if (root.includeSource) {
      const source = getPropertyString(["source", "address"]);
      value += " (" + (source === null ? "unknown" : source!) + ")";
    }
    this.replaceRequestHeader(root.header, value);
    requests.increment();
    if (log.enabled(LogLevel.Debug)) {
      const path = this.getRequestHeader(":path");
      log.debug("hello: " + (path === null ? "?" : path!) + " -> " + root.header + ": " + value);
    }
    return Action.Continue;
  }
}

registerRootContext((contextId: u32): RootContext => new HelloRoot(contextId), "hello");
