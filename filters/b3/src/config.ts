// The b3 plugin's configuration (Istio `pluginConfig`), read and validated in `onConfigure`. Every
// problem is collected with its field path; see config.schema.json for the same surface as a schema.

import { ConfigReader, RequestMatch, isToken } from "../../../assembly";

/** What to do with an incoming context. */
export enum Mode {
  /** Forward it as it came (normalised); decide nothing. */
  Propagate = 0,
  /** Share its span (B3's join model); decide a deferred sampling state. */
  Join = 1,
  /** New span id, incoming span id as parent; decide a deferred sampling state. */
  Child = 2,
}

/** Which B3 encodings to write upstream. */
export enum Output {
  /** The one the context arrived in (`b3` or `x-b3-*`); `x-b3-*` for anything else. */
  Preserve = 0,
  Multi = 1,
  Single = 2,
  Both = 3,
}

/** What to do when the headers that carry the context are malformed. */
export enum Malformed {
  /** Drop them and start a new trace as if none had arrived. */
  Restart = 0,
  /** Forward the request untouched. */
  Pass = 1,
  /** Remove every trace header the plugin manages; start nothing. */
  Strip = 2,
  /** Answer 400. */
  Reject = 3,
}

/** A per-request sampling rule: when `match` holds, `decision` (or a draw at `rate`) decides. */
export class SamplingRule {
  match: RequestMatch = new RequestMatch();
  /** -1 when the rule uses `rate`. */
  decision: i32 = -1;
  rate: f64 = -1;
}

const MODES = ["propagate", "join", "child"];
const OUTPUTS = ["preserve", "multi", "single", "both"];
const POLICIES = ["restart", "pass", "strip", "reject"];
const MINTS = ["128bit", "64bit", "off"];
const DECISIONS = ["defer", "deny", "accept", "debug"]; // index = Sampling value

/** Header names the plugin owns; a configured header may not be one of them. */
export const TRACE_HEADERS = [
  "b3",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-flags",
  "traceparent",
  "tracestate",
];

export class B3Config {
  mode: Mode = Mode.Propagate;
  output: Output = Output.Preserve;
  w3c: bool = false;
  /** Trace id width of minted contexts in bits: 128, 64, or 0 (minting off). */
  mintBits: i32 = 128;
  /** Rate when no rule matches; -1 = defer. */
  rate: f64 = -1;
  rules: Array<SamplingRule> = new Array<SamplingRule>();
  forceHeader: string = "";
  malformed: Malformed = Malformed.Restart;
  requestHeader: string = "";
  responseHeader: string = "";
  properties: bool = true;

  /** True when a sampling decision may need `RequestInfo` (rules exist). */
  get hasRules(): bool {
    return this.rules.length > 0;
  }

  /** Reads a configuration; null when invalid (each problem is logged at critical, naming the field). */
  static parse(text: string): B3Config | null {
    const c = new B3Config();
    const r = ConfigReader.parse(text);
    c.mode = <Mode>MODES.indexOf(r.optionalEnum("mode", MODES, "propagate"));
    c.output = <Output>OUTPUTS.indexOf(r.optionalEnum("output", OUTPUTS, "preserve"));
    c.w3c = r.optionalBool("w3c", false);
    const mint = r.optionalEnum("mint", MINTS, "128bit");
    c.mintBits = mint == "128bit" ? 128 : mint == "64bit" ? 64 : 0;
    c.malformed = <Malformed>POLICIES.indexOf(r.optionalEnum("malformed", POLICIES, "restart"));

    const s = r.optionalObject("sampling");
    if (s !== null) {
      c.rate = s.optionalNumber("rate", -1, 0, 1);
      const rules = s.objectArray("rules");
      for (let i = 0; i < rules.length; i++) {
        const rr = unchecked(rules[i]);
        const rule = new SamplingRule();
        rule.match = RequestMatch.parse(rr);
        const hasDecision = rr.has("decision");
        const hasRate = rr.has("rate");
        if (hasDecision) rule.decision = DECISIONS.indexOf(rr.optionalEnum("decision", DECISIONS, "defer"));
        if (hasRate) rule.rate = rr.optionalNumber("rate", -1, 0, 1);
        if (hasDecision == hasRate) rr.error(rr.path, 'set exactly one of "decision" or "rate"');
        rr.finish();
        c.rules.push(rule);
      }
      c.forceHeader = headerName(s, "forceHeader");
      s.finish();
    }

    const k = r.optionalObject("correlation");
    if (k !== null) {
      c.requestHeader = headerName(k, "requestHeader");
      c.responseHeader = headerName(k, "responseHeader");
      c.properties = k.optionalBool("properties", true);
      k.finish();
    }
    r.finish();
    if (!r.ok) {
      r.logErrors("b3");
      return null;
    }
    return c;
  }
}

/** An optional header-name field, lower-cased; "" when absent. Records an error for a bad name. */
function headerName(r: ConfigReader, key: string): string {
  const before = r.errors.list.length;
  const v = r.optionalString(key, "");
  if (!r.has(key) || r.errors.list.length > before) return "";
  const name = v.toLowerCase();
  if (!isToken(name)) {
    r.fieldError(key, 'expected an HTTP header name, got "' + v + '"');
    return "";
  }
  if (TRACE_HEADERS.includes(name)) {
    r.fieldError(key, 'expected a header other than the trace headers this plugin manages, got "' + v + '"');
    return "";
  }
  return name;
}
