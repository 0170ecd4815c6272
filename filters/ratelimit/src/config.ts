// The rate limiter's configuration: parsed and validated once per `onConfigure`, never at request time.
// Every problem is recorded with the field's path (`rules[1].period: ...`) and the whole configuration
// is refused when there is at least one; ../config.schema.json describes the same surface as a JSON Schema.

import { ConfigReader, RequestMatch, fnv1a64, isHeaderName, mix64 } from "../../../assembly";

/** Where one part of a rule's key comes from. */
export const enum Source {
  Ip = 0,
  Header = 1,
  Query = 2,
  Cookie = 3,
  Path = 4,
  Method = 5,
  Host = 6,
  Route = 7,
}

const SOURCES = ["ip", "header", "query", "cookie", "path", "method", "host", "route"];

/** What a rule does with a request whose key cannot be built (header absent, XFF too short, ...). */
export const enum OnMissing {
  /** The rule does not apply to the request. */
  Skip = 0,
  /** All such requests share one bucket. */
  Shared = 1,
  /** The request is refused with `response.missingKeyStatus`. */
  Reject = 2,
}

/** Which rate-limit headers responses carry. */
export const enum HeaderFormat {
  None = 0,
  /** `X-RateLimit-Limit/Remaining/Reset` (Envoy's DRAFT_VERSION_03 shape). */
  Draft03 = 1,
  /** `RateLimit` / `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers). */
  Ietf = 2,
  Both = 3,
}

export const MAX_SLOTS: i64 = 1 << 20;
const MAX_LIMIT: i64 = 1_000_000_000;
const MAX_PERIOD_MS: i64 = 365 * 86_400_000;
/** Upper bound of burst × period / limit (the deepest a bucket can be), to keep i64 nanoseconds safe. */
const MAX_TOLERANCE_NS: f64 = 4e18;

/** One component of a rule's key. */
export class KeyPart {
  source: Source = Source.Ip;
  /** Header, query parameter or cookie name (headers lower-cased). */
  name: string = "";
  /** For `ip`: 0 = the peer (`source.address`); N > 0 = the N-th address from the right of XFF. */
  xffTrustedHops: i32 = 0;
}

/** One limit: requests matching `match`, grouped by `key`, at most `limit` per `period` (burst `burst`). */
export class Rule {
  name: string = "";
  match: RequestMatch = new RequestMatch();
  key: Array<KeyPart> = new Array<KeyPart>();
  limit: i64 = 1;
  periodMs: i64 = 1000;
  burst: i64 = 1;
  slots: i32 = 1;
  onMissing: OnMissing = OnMissing.Skip;
  shadow: bool = false;
  /** GCRA emission interval: nanoseconds one request "costs" (period / limit). */
  emissionNs: i64 = 0;
  /** How far ahead of now the theoretical arrival time may run: burst × emission. */
  toleranceNs: i64 = 0;
  /** Identity of the key definition: a bucket written under another key definition is stale. */
  keyTag: u64 = 0;
  /** Shared-data key prefix of this rule's slots (`ratelimit/<plugin>/<rule>/`). */
  slotPrefix: string = "";
  /** Index of the rule in `rules[]`. */
  index: i32 = 0;

  get periodSeconds(): i64 {
    return this.periodMs / 1000;
  }
}

/** The whole plugin configuration. */
export class Config {
  rules: Array<Rule> = new Array<Rule>();
  statPrefix: string = "ratelimit";
  shadowHeader: string = "x-ratelimit-shadow";
  maxRetries: i32 = 8;
  denyOnContention: bool = false;
  status: u32 = 429;
  body: string = "rate limit exceeded\n";
  format: HeaderFormat = HeaderFormat.Draft03;
  headersOnAllowed: bool = false;
  retryAfter: bool = true;
  missingKeyStatus: u32 = 400;
  /** True when any rule needs the route name, so the request reads `xds.route_name` at most once. */
  usesRoute: bool = false;
}

/** A rule or stat name: 1-64 of `A-Z a-z 0-9 _ -`. */
function isName(s: string): bool {
  if (s.length == 0 || s.length > 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      c == 0x5f ||
      c == 0x2d;
    if (!ok) return false;
  }
  return true;
}

/** A stat prefix: names joined by dots (`ratelimit`, `gw.ratelimit`). */
function isStatPrefix(s: string): bool {
  if (s.length == 0 || s.length > 128) return false;
  const parts = s.split(".");
  for (let i = 0; i < parts.length; i++) if (!isName(unchecked(parts[i]))) return false;
  return true;
}

function parseKeyPart(r: ConfigReader): KeyPart {
  const part = new KeyPart();
  const source = r.requiredString("source");
  const idx = SOURCES.indexOf(source);
  if (idx < 0) {
    // Without a valid source the other fields cannot be judged: report the source only.
    if (r.has("source"))
      r.fieldError("source", 'expected one of "' + SOURCES.join('", "') + '", got "' + source + '"');
    r.raw("name");
    r.raw("xffTrustedHops");
    r.finish();
    return part;
  }
  part.source = <Source>idx;
  const named = part.source == Source.Header || part.source == Source.Query || part.source == Source.Cookie;
  if (named) {
    part.name = r.requiredString("name");
    if (part.source == Source.Header) {
      part.name = part.name.toLowerCase();
      if (r.has("name") && !isHeaderName(part.name))
        r.fieldError("name", 'expected an HTTP header name, got "' + part.name + '"');
    } else if (r.has("name") && part.name.length == 0) {
      r.fieldError("name", 'expected a non-empty string, got ""');
    }
  } else if (r.has("name")) {
    r.raw("name");
    r.fieldError("name", 'only valid with source "header", "query" or "cookie"');
  }
  if (part.source == Source.Ip) {
    part.xffTrustedHops = <i32>r.optionalInt("xffTrustedHops", 0, 0, 16);
  } else if (r.has("xffTrustedHops")) {
    r.raw("xffTrustedHops");
    r.fieldError("xffTrustedHops", 'only valid with source "ip"');
  }
  r.finish();
  return part;
}

function keyTagOf(parts: Array<KeyPart>): u64 {
  let desc = "key";
  for (let i = 0; i < parts.length; i++) {
    const p = unchecked(parts[i]);
    desc += "|" + (<i32>p.source).toString() + ":" + p.name + ":" + p.xffTrustedHops.toString();
  }
  return mix64(fnv1a64(desc));
}

function parseRule(r: ConfigReader, index: i32, defaultSlots: i64, cfg: Config): Rule {
  const rule = new Rule();
  rule.index = index;
  rule.name = r.requiredString("name");
  if (r.has("name") && !isName(rule.name))
    r.fieldError("name", 'expected 1-64 characters of A-Z a-z 0-9 _ -, got "' + rule.name + '"');
  for (let i = 0; i < cfg.rules.length; i++) {
    if (unchecked(cfg.rules[i]).name == rule.name && rule.name.length > 0)
      r.fieldError("name", 'duplicate rule name "' + rule.name + '" (also rules[' + i.toString() + "])");
  }
  rule.match = RequestMatch.parse(r);
  const keys = r.objectArray("key");
  for (let i = 0; i < keys.length; i++) rule.key.push(parseKeyPart(unchecked(keys[i])));
  rule.keyTag = keyTagOf(rule.key);

  rule.limit = r.requiredInt("limit", 1, MAX_LIMIT);
  if (!r.has("period")) {
    r.raw("period");
    r.fieldError("period", "required field is missing");
  } else {
    rule.periodMs = r.optionalDurationMs("period", 1000, 1000, MAX_PERIOD_MS);
    if (rule.periodMs % 1000 != 0) {
      r.fieldError("period", "expected a whole number of seconds, got " + rule.periodMs.toString() + "ms");
      rule.periodMs = 1000;
    }
  }
  rule.burst = r.optionalInt("burst", rule.limit, 1, MAX_LIMIT);

  const hasKey = rule.key.length > 0;
  if (hasKey) {
    rule.slots = <i32>r.optionalInt("slots", defaultSlots, 1, MAX_SLOTS);
    const missing = r.optionalEnum("onMissingKey", ["skip", "shared", "reject"], "skip");
    rule.onMissing =
      missing == "shared" ? OnMissing.Shared : missing == "reject" ? OnMissing.Reject : OnMissing.Skip;
  } else {
    for (let i = 0; i < 2; i++) {
      const f = i == 0 ? "slots" : "onMissingKey";
      if (r.has(f)) {
        r.raw(f);
        r.fieldError(f, 'only valid with a "key"');
      }
    }
    rule.slots = 1;
  }
  rule.shadow = r.optionalBool("shadow", false);
  r.finish();

  const periodNs = rule.periodMs * 1_000_000;
  rule.emissionNs = periodNs / rule.limit;
  if (<f64>rule.burst * <f64>rule.emissionNs > MAX_TOLERANCE_NS) {
    r.fieldError("burst", "burst × period / limit must stay under 126 years, got " + rule.burst.toString());
    rule.burst = 1;
  }
  rule.toleranceNs = rule.burst * rule.emissionNs;
  if (rule.match.usesRoute) cfg.usesRoute = true;
  for (let i = 0; i < rule.key.length; i++)
    if (unchecked(rule.key[i]).source == Source.Route) cfg.usesRoute = true;
  return rule;
}

/** Parses `text`; the reader holds every error (check `reader.ok`). */
export function parseConfig(text: string, cfg: Config): ConfigReader {
  const r = ConfigReader.parse(text);
  if (!r.ok) return r; // not JSON, or not an object: nothing else to say
  cfg.statPrefix = r.optionalString("statPrefix", "ratelimit");
  if (r.has("statPrefix") && !isStatPrefix(cfg.statPrefix))
    r.fieldError(
      "statPrefix",
      'expected names of A-Z a-z 0-9 _ - joined by ".", got "' + cfg.statPrefix + '"',
    );
  const defaultSlots = r.optionalInt("slots", 4096, 1, MAX_SLOTS);
  const globalShadow = r.optionalBool("shadow", false);
  cfg.shadowHeader = r.optionalString("shadowHeader", "x-ratelimit-shadow").toLowerCase();
  if (!isHeaderName(cfg.shadowHeader))
    r.fieldError("shadowHeader", 'expected an HTTP header name, got "' + cfg.shadowHeader + '"');

  const contention = r.optionalObject("contention");
  if (contention !== null) {
    cfg.maxRetries = <i32>contention.optionalInt("maxRetries", 8, 0, 100);
    cfg.denyOnContention = contention.optionalEnum("onExhausted", ["allow", "deny"], "allow") == "deny";
    contention.finish();
  }

  const response = r.optionalObject("response");
  if (response !== null) {
    cfg.status = <u32>response.optionalInt("status", 429, 400, 599);
    cfg.body = response.optionalString("body", cfg.body);
    const format = response.optionalEnum("rateLimitHeaders", ["draft03", "ietf", "both", "none"], "draft03");
    cfg.format =
      format == "none"
        ? HeaderFormat.None
        : format == "ietf"
          ? HeaderFormat.Ietf
          : format == "both"
            ? HeaderFormat.Both
            : HeaderFormat.Draft03;
    cfg.headersOnAllowed = response.optionalBool("onAllowed", false);
    cfg.retryAfter = response.optionalBool("retryAfter", true);
    cfg.missingKeyStatus = <u32>response.optionalInt("missingKeyStatus", 400, 400, 599);
    response.finish();
  }

  const rules = r.objectArray("rules", 1);
  for (let i = 0; i < rules.length; i++) {
    const rule = parseRule(unchecked(rules[i]), i, defaultSlots, cfg);
    if (globalShadow) rule.shadow = true;
    cfg.rules.push(rule);
  }
  r.finish();
  return r;
}
