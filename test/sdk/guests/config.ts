// A test guest for the SDK's configuration reader, the shared `rules[].match` block and long streams.
//
// onConfigure reads every kind of field and logs `config ok ...` with the parsed values, or refuses with one
// critical line per problem. For each request, the index of the first matching rule goes upstream as
// `x-rule` ("none" when none matches). Every request body chunk is read into guest memory and dropped,
// which is what a long upload does to a filter that inspects bodies.

import {
  Action,
  ConfigReader,
  HttpContext,
  RequestInfo,
  RequestMatch,
  RootContext,
  log,
  registerRootContext,
} from "../../../assembly";
export * from "../../../assembly/exports";

class Rule {
  constructor(
    public limit: i64,
    public match: RequestMatch,
  ) {}
}

class ConfigRoot extends RootContext {
  rules: Array<Rule> = new Array<Rule>();
  bodyBytes: i64 = 0;

  override onConfigure(configurationSize: u32): bool {
    const r = ConfigReader.parse(this.getPluginConfiguration());
    const name = r.requiredString("name");
    const count = r.optionalInt("count", 1, 1);
    const ratio = r.optionalNumber("ratio", 0.5, 0, 1);
    const enabled = r.optionalBool("enabled", true);
    const mode = r.optionalEnum("mode", ["fast", "safe"], "safe");
    const windowMs = r.optionalDurationMs("window", 1000, 1, 86_400_000);
    const tags = r.optionalStringArray("tags");
    const blob = r.optionalString("blob", "");
    const rules = r.objectArray("rules");
    const parsed = new Array<Rule>();
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      const limit = rule.requiredInt("limit", 1);
      const match = RequestMatch.parse(rule);
      rule.finish();
      parsed.push(new Rule(limit, match));
    }
    r.finish();
    if (!r.ok) {
      r.logErrors("config");
      return false;
    }
    this.rules = parsed;
    log.info(
      "config ok name=" +
        name +
        " count=" +
        count.toString() +
        " ratio=" +
        ratio.toString() +
        " enabled=" +
        (enabled ? "true" : "false") +
        " mode=" +
        mode +
        " windowMs=" +
        windowMs.toString() +
        " tags=" +
        tags.join(",") +
        " rules=" +
        parsed.length.toString() +
        " blobLen=" +
        blob.length.toString(),
    );
    return true;
  }

  override newHttpContext(contextId: u32): HttpContext | null {
    return new ConfigStream(contextId, this);
  }
}

class ConfigStream extends HttpContext {
  override onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const root = this.root as ConfigRoot;
    const req = new RequestInfo(this);
    let matched = "none";
    for (let i = 0; i < root.rules.length; i++) {
      if (root.rules[i].match.matches(req)) {
        matched = i.toString();
        break;
      }
    }
    this.replaceRequestHeader("x-rule", matched);
    return Action.Continue;
  }

  override onRequestBody(bodySize: u32, endOfStream: bool): Action {
    const chunk = this.getRequestBody(0, bodySize);
    if (chunk !== null) (this.root as ConfigRoot).bodyBytes += chunk.byteLength;
    if (endOfStream) log.info("body bytes seen " + (this.root as ConfigRoot).bodyBytes.toString());
    return Action.Continue;
  }
}

registerRootContext((contextId: u32): RootContext => new ConfigRoot(contextId), "config");
