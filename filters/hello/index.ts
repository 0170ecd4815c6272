import {
  Action,
  Counter,
  HttpContext,
  RootContext,
  log,
  registerRootContext,
  attributes,
} from "../../assembly";
export * from "../../assembly/exports";

class HelloRoot extends RootContext {
  header: string = "x-hello";
  override onConfigure(size: u32): bool {
    log.info("configured " + this.getPluginConfiguration());
    return true;
  }
  override newHttpContext(id: u32): HttpContext | null {
    return new Hello(id, this);
  }
}

const requests = new Counter("hello_requests_total");

class Hello extends HttpContext {
  override onRequestHeaders(n: u32, eos: bool): Action {
    const root = this.root as HelloRoot;
    const src = attributes.sourceAddress();
    this.addRequestHeader(root.header, src === null ? "unknown" : src);
    requests.increment();
    return Action.Continue;
  }
}

registerRootContext((id: u32): RootContext => new HelloRoot(id), "hello");
