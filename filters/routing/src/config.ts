// The routing plugin's configuration: parsed and validated once in `onConfigure`, every problem named by
// its field (README.md has the reference, config.schema.json the JSON Schema).

import { ConfigReader, Counter, JsonKind, isToken, mix64 } from "../../../assembly";
import { Cidr, parseCidr } from "./cidr";
import { Regex } from "./regex";

export const enum Source {
  Header = 0,
  Cookie = 1,
  Query = 2,
  Path = 3,
  Method = 4,
  ClientIp = 5,
}

export const enum Op {
  Exact = 0,
  Prefix = 1,
  Suffix = 2,
  Contains = 3,
  Regex = 4,
  Present = 5,
  Absent = 6,
}

export const enum Multi {
  First = 0,
  Any = 1,
  All = 2,
}

const SOURCES = ["header", "cookie", "query", "path", "method"];
const OPS = ["exact", "prefix", "suffix", "contains", "regex", "present", "absent"];
const MULTI = ["first", "any", "all"];
const KEY_SOURCES = ["header", "cookie", "clientIp"];
const SAME_SITE = ["Lax", "Strict", "None"];

/** Total weight of a split, in basis points. */
export const TOTAL_WEIGHT: i32 = 10000;

/** One condition of a rule's `when` list. */
export class Condition {
  source: Source = Source.Header;
  /** Header (lower-case), cookie or query parameter name; "" for path and method. */
  name: string = "";
  op: Op = Op.Exact;
  /** The operand, ASCII-lower-cased when `ignoreCase`. */
  value: string = "";
  regex: Regex | null = null;
  ignoreCase: bool = false;
  invert: bool = false;
  multi: Multi = Multi.First;
  /** Header only: split each field line on commas (RFC 9110 list syntax) before matching. */
  splitCommas: bool = false;
}

/** What happens to a request routed to a variant, and how it is reported. */
export class Target {
  variant: string = "";
  setNames: Array<string> = new Array<string>();
  setValues: Array<string> = new Array<string>();
  authority: string = "";
  pathFrom: string = "";
  pathTo: string = "";
  cluster: string = "";
  weight: i32 = 0;
  counter: Counter;

  constructor(variant: string) {
    this.variant = variant;
    this.counter = variantCounter(variant);
  }
}

/** Cookie attributes for a key the plugin assigns. */
export class CookieSpec {
  maxAgeSeconds: i64 = 0;
  path: string = "/";
  secure: bool = false;
  httpOnly: bool = true;
  sameSite: string = "Lax";
}

export class Split {
  keySource: Source = Source.Header;
  keyName: string = "";
  salt: string = "";
  /** FNV-1a state after hashing `salt` and a NUL separator. */
  saltState: u64 = 0;
  variants: Array<Target> = new Array<Target>();
  /** Exclusive upper bucket bound of each variant (cumulative weights). */
  upper: Array<i32> = new Array<i32>();
  /** Index of the variant used when the key is missing, or -1 (then the rule does not apply). */
  fallback: i32 = -1;
  assignCookie: CookieSpec | null = null;

  /** The variant for `key`: bucket = splitmix64(FNV-1a-64(salt ‖ 0x00 ‖ key as UTF-8)) mod 10000. */
  pick(key: string): Target {
    const b = bucketOf(this.saltState, key);
    for (let i = 0; i < this.upper.length; i++) {
      if (b < unchecked(this.upper[i])) return unchecked(this.variants[i]);
    }
    return unchecked(this.variants[this.variants.length - 1]);
  }
}

export class Rule {
  when: Array<Condition> = new Array<Condition>();
  target: Target | null = null;
  split: Split | null = null;
}

export class RoutingConfig {
  reroute: bool = true;
  trusted: Array<Cidr> = new Array<Cidr>();
  /** Headers the plugin owns: stripped from untrusted clients (lower-case, no duplicates). */
  routingHeaders: Array<string> = new Array<string>();
  clusterHeader: string = "x-wasmgate-cluster";
  variantHeader: string = "";
  defaultTarget: Target;
  rules: Array<Rule> = new Array<Rule>();

  constructor() {
    this.defaultTarget = new Target("default");
  }
}

// --- Hashing ---------------------------------------------------------------------------------------

const FNV_OFFSET: u64 = 0xcbf29ce484222325;
const FNV_PRIME: u64 = 0x100000001b3;

/** FNV-1a 64 over the UTF-8 bytes of `s`, continuing from `h`. */
export function fnvUtf8(h: u64, s: string): u64 {
  const bytes = String.UTF8.encode(s, false);
  const p = changetype<usize>(bytes);
  for (let i = 0; i < bytes.byteLength; i++) {
    h ^= <u64>load<u8>(p + <usize>i);
    h *= FNV_PRIME;
  }
  return h;
}

/** The FNV state after `salt` and the NUL separator. */
export function saltState(salt: string): u64 {
  let h = fnvUtf8(FNV_OFFSET, salt);
  h ^= 0; // the separator byte 0x00
  h *= FNV_PRIME;
  return h;
}

/** Bucket 0..9999 of `key` under a salt state. */
export function bucketOf(state: u64, key: string): i32 {
  return <i32>(mix64(fnvUtf8(state, key)) % <u64>TOTAL_WEIGHT);
}

// --- Counters --------------------------------------------------------------------------------------

const counters = new Map<string, Counter>();

/** The process-wide counter `routing.variant.<name>` (Envoy /stats: `wasmcustom.routing.variant.<name>`). */
export function variantCounter(variant: string): Counter {
  if (counters.has(variant)) return counters.get(variant);
  const c = new Counter("routing.variant." + variant);
  counters.set(variant, c);
  return c;
}

// --- Parsing ---------------------------------------------------------------------------------------

/** ASCII-only lower case (header names, ignore-case operands). */
export function asciiLower(s: string): string {
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) break;
    i++;
  }
  if (i == s.length) return s;
  let out = s.substring(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c);
  }
  return out;
}

function isVariantName(s: string): bool {
  if (s.length == 0 || s.length > 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x41 && c <= 0x5a) ||
      c == 0x5f ||
      c == 0x2d;
    if (!ok) return false;
  }
  return true;
}

/** A header name field: lower-cased, an HTTP token, not a pseudo-header. Records errors on `r`. */
function headerName(r: ConfigReader, key: string, value: string): string {
  const v = asciiLower(value);
  if (v.startsWith(":")) {
    r.fieldError(key, '"' + value + '" is a pseudo-header; use "authority" or "pathPrefix" to rewrite it');
  } else if (!isToken(v)) {
    r.fieldError(key, 'expected an HTTP header name, got "' + value + '"');
  }
  return v;
}

function readVariantName(r: ConfigReader, key: string): string {
  if (!r.has(key)) {
    r.raw(key);
    r.fieldError(key, "required field is missing");
    return "";
  }
  const v = r.optionalString(key, "");
  if (r.value.get(key)!.kind == JsonKind.String && !isVariantName(v)) {
    r.fieldError(key, 'expected 1-64 characters of A-Z a-z 0-9 _ -, got "' + v + '"');
  }
  return v;
}

/** The action fields shared by a rule and a split variant. */
function readActions(r: ConfigReader, t: Target, cfg: RoutingConfig): void {
  const set = r.raw("setHeaders");
  const sp = r.path.length == 0 ? "setHeaders" : r.path + ".setHeaders";
  if (set !== null) {
    if (set.kind != JsonKind.Object) {
      r.fieldError("setHeaders", "expected an object of header names to values, got " + set.describe());
    } else {
      for (let i = 0; i < set.keys.length; i++) {
        const k = unchecked(set.keys[i]);
        const v = unchecked(set.values[i]);
        const name = asciiLower(k);
        if (name.startsWith(":")) {
          r.error(
            sp + "." + k,
            '"' + k + '" is a pseudo-header; use "authority" or "pathPrefix" to rewrite it',
          );
          continue;
        }
        if (!isToken(name)) {
          r.error(sp + "." + k, 'expected an HTTP header name, got "' + k + '"');
          continue;
        }
        if (v.kind != JsonKind.String) {
          r.error(sp + "." + k, "expected a string, got " + v.describe());
          continue;
        }
        if (t.setNames.includes(name)) {
          r.error(sp + "." + k, "header set twice (names are case-insensitive)");
          continue;
        }
        t.setNames.push(name);
        t.setValues.push(v.str);
      }
    }
  }
  t.authority = r.optionalNonEmptyString("authority", "");
  const pp = r.optionalObject("pathPrefix");
  if (pp !== null) {
    t.pathFrom = pp.requiredString("from");
    t.pathTo = pp.requiredString("to");
    if (pp.has("from") && !t.pathFrom.startsWith("/"))
      pp.fieldError("from", 'expected a path starting with "/", got "' + t.pathFrom + '"');
    if (pp.has("to") && !t.pathTo.startsWith("/"))
      pp.fieldError("to", 'expected a path starting with "/", got "' + t.pathTo + '"');
    pp.finish();
  }
  t.cluster = r.optionalNonEmptyString("cluster", "");
  for (let i = 0; i < t.setNames.length; i++) addRoutingHeader(cfg, unchecked(t.setNames[i]));
}

function addRoutingHeader(cfg: RoutingConfig, name: string): void {
  if (!cfg.routingHeaders.includes(name)) cfg.routingHeaders.push(name);
}

function readCondition(c: ConfigReader, defaultMulti: Multi): Condition {
  const cond = new Condition();
  let sourceText = "";
  if (!c.has("source")) {
    c.raw("source");
    c.fieldError("source", "required field is missing");
  } else {
    sourceText = c.optionalEnum("source", SOURCES, "");
  }
  cond.source = <Source>max<i32>(0, SOURCES.indexOf(sourceText));
  const named = sourceText == "header" || sourceText == "cookie" || sourceText == "query";
  if (named) {
    if (!c.has("name")) {
      c.raw("name");
      c.fieldError("name", "required field is missing");
    } else {
      const n = c.optionalNonEmptyString("name", "");
      cond.name = sourceText == "header" && n.length > 0 ? headerName(c, "name", n) : n;
    }
  } else if (sourceText.length > 0 && c.has("name")) {
    c.raw("name");
    c.fieldError("name", 'not allowed with source "' + sourceText + '"');
  }
  let opText = "";
  if (!c.has("op")) {
    c.raw("op");
    c.fieldError("op", "required field is missing");
  } else {
    opText = c.optionalEnum("op", OPS, "");
  }
  cond.op = <Op>max<i32>(0, OPS.indexOf(opText));
  if (sourceText.length == 0) {
    // The source is missing or unknown: its dependent fields cannot be judged, so do not report them.
    c.raw("name");
    c.raw("multiValue");
    c.raw("splitCommas");
  }
  cond.ignoreCase = c.optionalBool("ignoreCase", false);
  cond.invert = c.optionalBool("invert", false);
  const existence = opText == "present" || opText == "absent";
  if (existence && sourceText.length > 0 && !named) {
    c.fieldError("op", 'op "' + opText + '" needs source "header", "cookie" or "query"');
  }
  if (existence) {
    if (c.has("value")) {
      c.raw("value");
      c.fieldError("value", 'not allowed with op "' + opText + '"');
    }
  } else if (opText.length == 0) {
    c.raw("value"); // the op is missing or unknown: nothing to say about its operand
  } else {
    if (!c.has("value")) {
      c.raw("value");
      c.fieldError("value", "required field is missing");
    } else {
      const v = c.optionalString("value", "");
      if (opText == "regex") {
        const compiled = Regex.compile(v, cond.ignoreCase);
        if (compiled.regex === null) c.fieldError("value", "invalid regex: " + compiled.error);
        cond.regex = compiled.regex;
      } else if (v.length == 0 && opText != "exact") {
        c.fieldError("value", 'expected a non-empty string for op "' + opText + '"');
      }
      cond.value = cond.ignoreCase ? asciiLower(v) : v;
    }
  }
  if (named) {
    const m = c.optionalEnum("multiValue", MULTI, "");
    cond.multi = m.length == 0 ? defaultMulti : <Multi>MULTI.indexOf(m);
  } else if (c.has("multiValue") && sourceText.length > 0) {
    c.raw("multiValue");
    c.fieldError("multiValue", 'not allowed with source "' + sourceText + '" (it has one value)');
  }
  if (sourceText == "header") {
    cond.splitCommas = c.optionalBool("splitCommas", false);
  } else if (c.has("splitCommas") && sourceText.length > 0) {
    c.raw("splitCommas");
    c.fieldError("splitCommas", 'only allowed with source "header"');
  }
  c.finish();
  return cond;
}

function readSplit(s: ConfigReader, cfg: RoutingConfig): Split {
  const split = new Split();
  const key = s.requiredObject("key");
  let keySource = "";
  if (!key.has("source")) {
    key.raw("source");
    key.fieldError("source", "required field is missing");
  } else {
    keySource = key.optionalEnum("source", KEY_SOURCES, "");
  }
  if (keySource == "header" || keySource == "cookie") {
    split.keySource = keySource == "header" ? Source.Header : Source.Cookie;
    if (!key.has("name")) {
      key.raw("name");
      key.fieldError("name", "required field is missing");
    } else {
      const n = key.optionalNonEmptyString("name", "");
      split.keyName = keySource == "header" && n.length > 0 ? headerName(key, "name", n) : n;
    }
  } else if (keySource == "clientIp") {
    split.keySource = Source.ClientIp;
    if (key.has("name")) {
      key.raw("name");
      key.fieldError("name", 'not allowed with source "clientIp"');
    }
  } else {
    key.raw("name"); // the source is missing or unknown
  }
  key.finish();
  if (!s.has("salt")) {
    s.raw("salt");
    s.fieldError("salt", "required field is missing");
  } else {
    split.salt = s.optionalNonEmptyString("salt", "");
  }
  split.saltState = saltState(split.salt);
  const variants = s.objectArray("variants", 1);
  let total: i64 = 0;
  let weightsOk = true;
  for (let i = 0; i < variants.length; i++) {
    const v = unchecked(variants[i]);
    const name = readVariantName(v, "variant");
    for (let j = 0; j < split.variants.length; j++) {
      if (unchecked(split.variants[j]).variant == name && name.length > 0) {
        v.fieldError("variant", 'duplicate variant "' + name + '" in this split');
      }
    }
    const t = new Target(name);
    if (!v.has("weight")) {
      v.raw("weight");
      v.fieldError("weight", "required field is missing");
      weightsOk = false;
    } else {
      const before = v.errors.list.length;
      t.weight = <i32>v.optionalInt("weight", 0, 0, TOTAL_WEIGHT);
      if (v.errors.list.length != before) weightsOk = false;
    }
    total += t.weight;
    readActions(v, t, cfg);
    v.finish();
    split.variants.push(t);
    split.upper.push(<i32>total);
  }
  if (variants.length > 0 && weightsOk && total != TOTAL_WEIGHT) {
    s.fieldError(
      "variants",
      "weights must sum to " + TOTAL_WEIGHT.toString() + " basis points (100%), got " + total.toString(),
    );
  }
  if (s.has("fallback")) {
    const f = s.optionalString("fallback", "");
    for (let i = 0; i < split.variants.length; i++) {
      if (unchecked(split.variants[i]).variant == f) split.fallback = i;
    }
    if (split.fallback < 0) s.fieldError("fallback", 'no variant named "' + f + '" in this split');
  } else {
    s.raw("fallback");
  }
  const ac = s.optionalObject("assignCookie");
  if (ac !== null) {
    const spec = new CookieSpec();
    if (keySource.length > 0 && keySource != "cookie") {
      s.fieldError("assignCookie", 'needs key.source "cookie" (the assigned id is stored in that cookie)');
    }
    spec.maxAgeSeconds = ac.optionalDurationMs("maxAge", 30 * 86_400_000, 1000, 400 * 86_400_000) / 1000;
    spec.path = ac.optionalString("path", "/");
    if (!spec.path.startsWith("/"))
      ac.fieldError("path", 'expected a path starting with "/", got "' + spec.path + '"');
    spec.secure = ac.optionalBool("secure", false);
    spec.httpOnly = ac.optionalBool("httpOnly", true);
    spec.sameSite = ac.optionalEnum("sameSite", SAME_SITE, "Lax");
    if (spec.sameSite == "None" && !spec.secure) {
      ac.fieldError("sameSite", 'SameSite=None requires "secure": true (browsers drop the cookie otherwise)');
    }
    ac.finish();
    split.assignCookie = spec;
  }
  s.finish();
  return split;
}

/** Parses and validates the plugin configuration; `errors` lists every problem ("" fields mean none). */
export function parseConfig(text: string): ParsedConfig {
  const r = ConfigReader.parse(text);
  const cfg = new RoutingConfig();
  if (!r.ok) return new ParsedConfig(null, r); // not JSON, or not an object
  cfg.reroute = r.optionalBool("reroute", true);
  const cidrs = r.optionalStringArray("trustedCidrs");
  for (let i = 0; i < cidrs.length; i++) {
    const res = parseCidr(unchecked(cidrs[i]));
    if (res.cidr === null) r.error("trustedCidrs[" + i.toString() + "]", res.error);
    else cfg.trusted.push(res.cidr!);
  }
  const strip = r.optionalStringArray("stripHeaders");
  for (let i = 0; i < strip.length; i++) {
    addRoutingHeader(cfg, headerName(r, "stripHeaders[" + i.toString() + "]", unchecked(strip[i])));
  }
  cfg.clusterHeader = headerName(
    r,
    "clusterHeader",
    r.optionalNonEmptyString("clusterHeader", "x-wasmgate-cluster"),
  );
  addRoutingHeader(cfg, cfg.clusterHeader);
  const vh = r.optionalString("variantHeader", "");
  cfg.variantHeader = vh.length == 0 ? "" : headerName(r, "variantHeader", vh);
  if (r.has("defaultVariant")) {
    cfg.defaultTarget = new Target(readVariantName(r, "defaultVariant"));
  } else {
    r.raw("defaultVariant");
  }
  const multiText = r.optionalEnum("multiValue", MULTI, "first");
  const defaultMulti = <Multi>max<i32>(0, MULTI.indexOf(multiText));
  const rules = r.objectArray("rules", 1);
  for (let i = 0; i < rules.length; i++) {
    const rr = unchecked(rules[i]);
    const rule = new Rule();
    const when = rr.objectArray("when");
    for (let j = 0; j < when.length; j++) rule.when.push(readCondition(unchecked(when[j]), defaultMulti));
    const hasSplit = rr.has("split");
    const hasFixed =
      rr.has("variant") ||
      rr.has("setHeaders") ||
      rr.has("authority") ||
      rr.has("pathPrefix") ||
      rr.has("cluster");
    if (hasSplit && hasFixed) {
      rr.error(rr.path, 'set either "split" or "variant" with actions, not both');
      rr.raw("split");
      rr.raw("variant");
      rr.raw("setHeaders");
      rr.raw("authority");
      rr.raw("pathPrefix");
      rr.raw("cluster");
    } else if (hasSplit) {
      const s = rr.optionalObject("split");
      if (s !== null) rule.split = readSplit(s, cfg);
    } else {
      const t = new Target(readVariantName(rr, "variant"));
      readActions(rr, t, cfg);
      rule.target = t;
    }
    rr.finish();
    cfg.rules.push(rule);
  }
  r.finish();
  return new ParsedConfig(r.ok ? cfg : null, r);
}

/** The outcome of `parseConfig`. */
export class ParsedConfig {
  constructor(
    readonly config: RoutingConfig | null,
    readonly reader: ConfigReader,
  ) {}
}
