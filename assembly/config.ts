// A typed reader for JSON plugin configuration that collects every problem with the field's path:
//
//   rules[2].limit: expected a positive integer, got "ten"
//   rules[0].limt: unknown field
//
// Typical `onConfigure`:
//
//   const r = ConfigReader.parse(this.getPluginConfiguration());
//   const header = r.optionalString("header", "x-hello");
//   r.finish();                       // unknown fields are errors too
//   if (!r.ok) { r.logErrors("hello"); return false; }   // Envoy then refuses the config

import { formatInt } from "./internal/format";
import { JsonKind, JsonValue, parseJson, quote } from "./json";
import { log } from "./log";

/** Collects errors for one configuration document; shared by every reader made from it. */
export class ConfigErrors {
  list: Array<string> = new Array<string>();
  /** The document itself is unusable (not JSON, not an object): field errors would only be noise. */
  fatal: bool = false;
}

function joinPath(base: string, key: string): string {
  return base.length == 0 ? key : base + "." + key;
}

/** Reads one JSON object (or the document root), recording problems under its path. */
export class ConfigReader {
  private seen: Array<string> = new Array<string>();

  constructor(
    readonly value: JsonValue,
    readonly path: string,
    readonly errors: ConfigErrors,
  ) {}

  /**
   * Parses a configuration document. An empty document is an empty object; invalid JSON becomes an error
   * (`configuration: invalid JSON: ... at line 1, column 9`) and a reader over an empty object.
   */
  static parse(text: string): ConfigReader {
    const errors = new ConfigErrors();
    let trimmed = text.trim();
    if (trimmed.length == 0) trimmed = "{}";
    const parsed = parseJson(trimmed);
    const root = parsed.value;
    if (root === null) {
      errors.list.push("configuration: invalid JSON: " + parsed.error);
      errors.fatal = true;
      const empty = new JsonValue();
      empty.kind = JsonKind.Object;
      return new ConfigReader(empty, "", errors);
    }
    const reader = new ConfigReader(root, "", errors);
    if (root.kind != JsonKind.Object) {
      reader.error("configuration", "expected a JSON object, got " + root.describe());
      errors.fatal = true;
      const empty = new JsonValue();
      empty.kind = JsonKind.Object;
      return new ConfigReader(empty, "", errors);
    }
    return reader;
  }

  /** True when no error was recorded (in this reader or any other of the same document). */
  get ok(): bool {
    return this.errors.list.length == 0;
  }

  /** Records `path: message` (nothing more once the document itself was refused). */
  error(path: string, message: string): void {
    if (!this.errors.fatal) this.errors.list.push(path + ": " + message);
  }

  /** Records an error about field `key` of this object. */
  fieldError(key: string, message: string): void {
    this.error(joinPath(this.path, key), message);
  }

  /** Logs every error at critical, prefixed with `plugin`, one line each. Returns the error count. */
  logErrors(plugin: string): i32 {
    for (let i = 0; i < this.errors.list.length; i++) {
      log.critical(plugin + ": invalid configuration: " + unchecked(this.errors.list[i]));
    }
    return this.errors.list.length;
  }

  /** True when the object has field `key` (null counts as absent). */
  has(key: string): bool {
    const v = this.value.get(key);
    return v !== null && v.kind != JsonKind.Null;
  }

  /** The raw value of `key`, marking it as known; null when absent or JSON null. */
  raw(key: string): JsonValue | null {
    this.seen.push(key);
    const v = this.value.get(key);
    return v === null || v.kind == JsonKind.Null ? null : v;
  }

  private missing(key: string): void {
    this.fieldError(key, "required field is missing");
  }

  // --- Strings -----------------------------------------------------------------------------------

  optionalString(key: string, defaultValue: string): string {
    const v = this.raw(key);
    if (v === null) return defaultValue;
    if (v.kind != JsonKind.String) {
      this.fieldError(key, "expected a string, got " + v.describe());
      return defaultValue;
    }
    return v.str;
  }

  requiredString(key: string): string {
    if (!this.has(key)) {
      this.raw(key);
      this.missing(key);
      return "";
    }
    return this.optionalString(key, "");
  }

  /** A non-empty string, or `defaultValue` when absent. */
  optionalNonEmptyString(key: string, defaultValue: string): string {
    const s = this.optionalString(key, defaultValue);
    if (this.has(key) && s.length == 0 && this.value.get(key)!.kind == JsonKind.String) {
      this.fieldError(key, 'expected a non-empty string, got ""');
    }
    return s;
  }

  /** One of `allowed`, or `defaultValue` when absent. */
  optionalEnum(key: string, allowed: Array<string>, defaultValue: string): string {
    const v = this.raw(key);
    if (v === null) return defaultValue;
    if (v.kind == JsonKind.String && allowed.includes(v.str)) return v.str;
    this.fieldError(key, "expected one of " + describeChoices(allowed) + ", got " + v.describe());
    return defaultValue;
  }

  /** A list of strings; absent → empty. `nonEmptyItems` refuses "". */
  optionalStringArray(key: string, nonEmptyItems: bool = true): Array<string> {
    const out = new Array<string>();
    const v = this.raw(key);
    if (v === null) return out;
    if (v.kind != JsonKind.Array) {
      this.fieldError(key, "expected an array of strings, got " + v.describe());
      return out;
    }
    for (let i = 0; i < v.items.length; i++) {
      const item = unchecked(v.items[i]);
      const p = joinPath(this.path, key) + "[" + formatInt(i) + "]";
      if (item.kind != JsonKind.String) this.error(p, "expected a string, got " + item.describe());
      else if (nonEmptyItems && item.str.length == 0) this.error(p, 'expected a non-empty string, got ""');
      else out.push(item.str);
    }
    return out;
  }

  // --- Numbers -----------------------------------------------------------------------------------

  /** An integer in [min, max], or `defaultValue` when absent. */
  optionalInt(key: string, defaultValue: i64, min: i64 = i64.MIN_VALUE, max: i64 = i64.MAX_VALUE): i64 {
    const v = this.raw(key);
    if (v === null) return defaultValue;
    if (v.kind != JsonKind.Number || !v.isInteger || v.number < <f64>min || v.number > <f64>max) {
      this.fieldError(key, "expected " + describeIntRange(min, max) + ", got " + v.describe());
      return defaultValue;
    }
    return <i64>v.number;
  }

  requiredInt(key: string, min: i64 = i64.MIN_VALUE, max: i64 = i64.MAX_VALUE): i64 {
    if (!this.has(key)) {
      this.raw(key);
      this.missing(key);
      return min > 0 ? min : 0;
    }
    return this.optionalInt(key, min > 0 ? min : 0, min, max);
  }

  /** A number in [min, max], or `defaultValue` when absent. */
  optionalNumber(key: string, defaultValue: f64, min: f64 = -f64.MAX_VALUE, max: f64 = f64.MAX_VALUE): f64 {
    const v = this.raw(key);
    if (v === null) return defaultValue;
    if (v.kind != JsonKind.Number || !(v.number >= min && v.number <= max)) {
      this.fieldError(
        key,
        "expected a number between " + fmt(min) + " and " + fmt(max) + ", got " + v.describe(),
      );
      return defaultValue;
    }
    return v.number;
  }

  optionalBool(key: string, defaultValue: bool): bool {
    const v = this.raw(key);
    if (v === null) return defaultValue;
    if (v.kind != JsonKind.Bool) {
      this.fieldError(key, "expected true or false, got " + v.describe());
      return defaultValue;
    }
    return v.bool;
  }

  /**
   * A duration as a string with a unit (`"250ms"`, `"1s"`, `"5m"`, `"1h"`, `"1d"`) or a number of
   * seconds, in milliseconds within [minMs, maxMs]; `defaultMs` when absent.
   */
  optionalDurationMs(key: string, defaultMs: i64, minMs: i64 = 1, maxMs: i64 = 86_400_000 * 365): i64 {
    const v = this.raw(key);
    if (v === null) return defaultMs;
    const ms = parseDurationMs(v);
    if (ms < minMs || ms > maxMs) {
      this.fieldError(
        key,
        'expected a duration like "500ms", "1s", "1m" between ' +
          fmtMs(minMs) +
          " and " +
          fmtMs(maxMs) +
          ", got " +
          v.describe(),
      );
      return defaultMs;
    }
    return ms;
  }

  // --- Nested values -----------------------------------------------------------------------------

  /** A nested object, or null when absent (or not an object, which is recorded). */
  optionalObject(key: string): ConfigReader | null {
    const v = this.raw(key);
    if (v === null) return null;
    if (v.kind != JsonKind.Object) {
      this.fieldError(key, "expected an object, got " + v.describe());
      return null;
    }
    return new ConfigReader(v, joinPath(this.path, key), this.errors);
  }

  /** A required nested object; on error a reader over an empty object. */
  requiredObject(key: string): ConfigReader {
    if (!this.has(key)) {
      this.raw(key);
      this.missing(key);
      return this.emptyChild(key);
    }
    const r = this.optionalObject(key);
    return r === null ? this.emptyChild(key) : r;
  }

  /** The objects of an array field (`rules[0]`, `rules[1]`, ...); absent → empty. */
  objectArray(key: string, minItems: i32 = 0): Array<ConfigReader> {
    const out = new Array<ConfigReader>();
    const v = this.raw(key);
    if (v === null) {
      if (minItems > 0)
        this.fieldError(key, "expected at least " + formatInt(minItems) + " item(s), got none");
      return out;
    }
    if (v.kind != JsonKind.Array) {
      this.fieldError(key, "expected an array of objects, got " + v.describe());
      return out;
    }
    if (v.items.length < minItems) {
      this.fieldError(
        key,
        "expected at least " + formatInt(minItems) + " item(s), got " + formatInt(v.items.length),
      );
    }
    for (let i = 0; i < v.items.length; i++) {
      const item = unchecked(v.items[i]);
      const p = joinPath(this.path, key) + "[" + formatInt(i) + "]";
      if (item.kind != JsonKind.Object) {
        this.error(p, "expected an object, got " + item.describe());
        continue;
      }
      out.push(new ConfigReader(item, p, this.errors));
    }
    return out;
  }

  private emptyChild(key: string): ConfigReader {
    const empty = new JsonValue();
    empty.kind = JsonKind.Object;
    return new ConfigReader(empty, joinPath(this.path, key), this.errors);
  }

  /** Records every field of this object that no accessor asked for as `unknown field`. */
  finish(): void {
    for (let i = 0; i < this.value.keys.length; i++) {
      const k = unchecked(this.value.keys[i]);
      if (!this.seen.includes(k)) this.fieldError(k, "unknown field");
    }
  }
}

function describeChoices(allowed: Array<string>): string {
  const q = new Array<string>();
  for (let i = 0; i < allowed.length; i++) q.push(quote(unchecked(allowed[i])));
  return q.join(", ");
}

function describeIntRange(min: i64, max: i64): string {
  if (min == 1 && max == i64.MAX_VALUE) return "a positive integer";
  if (min == 0 && max == i64.MAX_VALUE) return "a non-negative integer";
  if (min == i64.MIN_VALUE && max == i64.MAX_VALUE) return "an integer";
  if (max == i64.MAX_VALUE) return "an integer >= " + formatInt(min);
  return "an integer between " + formatInt(min) + " and " + formatInt(max);
}

function fmt(x: f64): string {
  if (x == f64.MAX_VALUE) return "+inf";
  if (x == -f64.MAX_VALUE) return "-inf";
  if (x == Math.floor(x) && Math.abs(x) < 1e15) return formatInt(<i64>x);
  return x.toString();
}

function fmtMs(ms: i64): string {
  if (ms % 86_400_000 == 0) return formatInt(ms / 86_400_000) + "d";
  if (ms % 3_600_000 == 0) return formatInt(ms / 3_600_000) + "h";
  if (ms % 60_000 == 0) return formatInt(ms / 60_000) + "m";
  if (ms % 1000 == 0) return formatInt(ms / 1000) + "s";
  return formatInt(ms) + "ms";
}

/** Milliseconds of a duration value, or -1 when it is not one. */
export function parseDurationMs(v: JsonValue): i64 {
  if (v.kind == JsonKind.Number) {
    if (!(v.number >= 0 && v.number <= 1e12)) return -1;
    return <i64>Math.round(v.number * 1000);
  }
  if (v.kind != JsonKind.String) return -1;
  const s = v.str;
  let i = 0;
  while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
  if (i == 0 || i > 12) return -1;
  const n = I64.parseInt(s.substring(0, i), 10); // at most 12 digits: no overflow yet
  const unit = s.substring(i);
  let unitMs: i64 = 0;
  if (unit == "ms") unitMs = 1;
  else if (unit == "s") unitMs = 1000;
  else if (unit == "m") unitMs = 60_000;
  else if (unit == "h") unitMs = 3_600_000;
  else if (unit == "d") unitMs = 86_400_000;
  else return -1;
  // 1e15 ms (about 31,700 years) is far above any maximum a caller passes, and n * unitMs stays in range.
  if (n > 1_000_000_000_000_000 / unitMs) return -1;
  return n * unitMs;
}
