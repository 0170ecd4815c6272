// A small JSON parser for plugin configuration, with no compiler transform. It never traps: invalid input,
// including deep nesting and huge numbers, comes back as an error with a line and column.

import { formatInt } from "./internal/format";
import { hexDigit } from "./util";
export const enum JsonKind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

/** A parsed JSON value. Object keys keep their order; a repeated key keeps its last value. */
export class JsonValue {
  kind: JsonKind = JsonKind.Null;
  bool: bool = false;
  number: f64 = 0;
  /** The number's source text (to tell integers from fractions exactly). */
  raw: string = "";
  str: string = "";
  items: Array<JsonValue> = new Array<JsonValue>();
  keys: Array<string> = new Array<string>();
  values: Array<JsonValue> = new Array<JsonValue>();

  /** The value of `key` in an object, or null. */
  get(key: string): JsonValue | null {
    for (let i = this.keys.length - 1; i >= 0; i--)
      if (unchecked(this.keys[i]) == key) return unchecked(this.values[i]);
    return null;
  }

  /** True for a number whose text has no fraction or exponent. */
  get isInteger(): bool {
    if (this.kind != JsonKind.Number) return false;
    for (let i = 0; i < this.raw.length; i++) {
      const c = this.raw.charCodeAt(i);
      if (c == 0x2e || c == 0x65 || c == 0x45) return false; // . e E
    }
    return true;
  }

  /** A short description for error messages: `"ten"`, `12.5`, `true`, `null`, `an object`, `an array`. */
  describe(): string {
    switch (this.kind) {
      case JsonKind.Null:
        return "null";
      case JsonKind.Bool:
        return this.bool ? "true" : "false";
      case JsonKind.Number:
        return this.raw;
      case JsonKind.String:
        return quote(this.str.length > 60 ? this.str.substring(0, 57) + "..." : this.str);
      case JsonKind.Array:
        return "an array";
    }
    return "an object";
  }
}

/** JSON-quotes a string for messages and output. */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x0d) out += "\\r";
    else if (c == 0x09) out += "\\t";
    else if (c < 0x20) {
      out +=
        "\\u00" +
        String.fromCharCode(0x30 + (c >> 4)) +
        String.fromCharCode((c & 0xf) < 10 ? 0x30 + (c & 0xf) : 0x57 + (c & 0xf));
    } else out += String.fromCharCode(c);
  }
  return out + '"';
}

/** The outcome of `parseJson`: a value, or an error message with its position. */
export class JsonResult {
  value: JsonValue | null = null;
  error: string = "";
  get ok(): bool {
    return this.value !== null;
  }
}

const MAX_DEPTH = 64;

class Parser {
  pos: i32 = 0;
  error: string = "";
  constructor(public text: string) {}

  fail(what: string): JsonValue | null {
    if (this.error.length == 0) {
      let line = 1;
      let col = 1;
      for (let i = 0; i < this.pos && i < this.text.length; i++) {
        if (this.text.charCodeAt(i) == 0x0a) {
          line++;
          col = 1;
        } else col++;
      }
      this.error = what + " at line " + formatInt(line) + ", column " + formatInt(col);
    }
    return null;
  }

  skipWs(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) this.pos++;
      else break;
    }
  }

  value(depth: i32): JsonValue | null {
    if (depth > MAX_DEPTH) return this.fail("nesting deeper than " + formatInt(MAX_DEPTH));
    this.skipWs();
    if (this.pos >= this.text.length) return this.fail("unexpected end of input");
    const c = this.text.charCodeAt(this.pos);
    if (c == 0x7b) return this.object(depth);
    if (c == 0x5b) return this.array(depth);
    if (c == 0x22) {
      const s = this.string();
      if (s === null) return null;
      const v = new JsonValue();
      v.kind = JsonKind.String;
      v.str = s;
      return v;
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.literal("true")) {
      const v = new JsonValue();
      v.kind = JsonKind.Bool;
      v.bool = true;
      return v;
    }
    if (this.literal("false")) {
      const v = new JsonValue();
      v.kind = JsonKind.Bool;
      return v;
    }
    if (this.literal("null")) return new JsonValue();
    return this.fail("unexpected character " + quote(String.fromCharCode(c)));
  }

  literal(word: string): bool {
    if (this.text.length - this.pos < word.length) return false;
    for (let i = 0; i < word.length; i++)
      if (this.text.charCodeAt(this.pos + i) != word.charCodeAt(i)) return false;
    this.pos += word.length;
    return true;
  }

  number(): JsonValue | null {
    const t = this.text;
    const start = this.pos;
    if (t.charCodeAt(this.pos) == 0x2d) this.pos++;
    const intStart = this.pos;
    while (this.pos < t.length && isDigit(t.charCodeAt(this.pos))) this.pos++;
    if (this.pos == intStart) return this.fail("invalid number");
    if (this.pos - intStart > 1 && t.charCodeAt(intStart) == 0x30)
      return this.fail("invalid number (leading zero)");
    if (this.pos < t.length && t.charCodeAt(this.pos) == 0x2e) {
      this.pos++;
      const f = this.pos;
      while (this.pos < t.length && isDigit(t.charCodeAt(this.pos))) this.pos++;
      if (this.pos == f) return this.fail("invalid number");
    }
    if (this.pos < t.length && (t.charCodeAt(this.pos) == 0x65 || t.charCodeAt(this.pos) == 0x45)) {
      this.pos++;
      if (this.pos < t.length && (t.charCodeAt(this.pos) == 0x2b || t.charCodeAt(this.pos) == 0x2d))
        this.pos++;
      const e = this.pos;
      while (this.pos < t.length && isDigit(t.charCodeAt(this.pos))) this.pos++;
      if (this.pos == e) return this.fail("invalid number");
    }
    const v = new JsonValue();
    v.kind = JsonKind.Number;
    v.raw = t.substring(start, this.pos);
    v.number = numberValue(v.raw);
    return v;
  }

  string(): string | null {
    const t = this.text;
    this.pos++; // opening quote
    const begin = this.pos;
    // Pass 1: find the closing quote (an escape always covers the next unit) and whether there are escapes.
    let close = -1;
    let escapes = false;
    for (let i = begin; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c == 0x22) {
        close = i;
        break;
      }
      if (c == 0x5c) {
        escapes = true;
        i++;
      }
    }
    if (close < 0) {
      this.pos = t.length;
      this.fail("unterminated string");
      return null;
    }
    if (!escapes) {
      for (let i = begin; i < close; i++) {
        if (t.charCodeAt(i) < 0x20) {
          this.pos = i;
          this.fail("control character in string");
          return null;
        }
      }
      this.pos = close + 1;
      return t.substring(begin, close);
    }
    // Pass 2: decode into a buffer no longer than the source (every escape shrinks), in linear time.
    const out = new StaticArray<u16>(close - begin);
    let n = 0;
    let i = begin;
    while (i < close) {
      const c = t.charCodeAt(i);
      if (c < 0x20) {
        this.pos = i;
        this.fail("control character in string");
        return null;
      }
      if (c != 0x5c) {
        unchecked((out[n++] = <u16>c));
        i++;
        continue;
      }
      const e = t.charCodeAt(i + 1);
      let decoded: i32 = -1;
      if (e == 0x22) decoded = 0x22;
      else if (e == 0x5c) decoded = 0x5c;
      else if (e == 0x2f) decoded = 0x2f;
      else if (e == 0x62) decoded = 0x08;
      else if (e == 0x66) decoded = 0x0c;
      else if (e == 0x6e) decoded = 0x0a;
      else if (e == 0x72) decoded = 0x0d;
      else if (e == 0x74) decoded = 0x09;
      if (decoded >= 0) {
        unchecked((out[n++] = <u16>decoded));
        i += 2;
        continue;
      }
      if (e != 0x75) {
        this.pos = i + 1;
        this.fail("invalid escape");
        return null;
      }
      let code: i32 = 0;
      for (let k = 0; k < 4; k++) {
        const h = i + 2 + k < close ? hexDigit(t.charCodeAt(i + 2 + k)) : -1;
        if (h < 0) {
          this.pos = i + 1;
          this.fail("invalid \\u escape");
          return null;
        }
        code = (code << 4) | h;
      }
      unchecked((out[n++] = <u16>code));
      i += 6;
    }
    this.pos = close + 1;
    return String.UTF16.decodeUnsafe(changetype<usize>(out), (<usize>n) << 1);
  }

  array(depth: i32): JsonValue | null {
    this.pos++;
    const v = new JsonValue();
    v.kind = JsonKind.Array;
    this.skipWs();
    if (this.pos < this.text.length && this.text.charCodeAt(this.pos) == 0x5d) {
      this.pos++;
      return v;
    }
    while (true) {
      const item = this.value(depth + 1);
      if (item === null) return null;
      v.items.push(item);
      this.skipWs();
      if (this.pos >= this.text.length) return this.fail("unterminated array");
      const c = this.text.charCodeAt(this.pos);
      this.pos++;
      if (c == 0x5d) return v;
      if (c != 0x2c) {
        this.pos--;
        return this.fail("expected ',' or ']'");
      }
    }
    return null;
  }

  object(depth: i32): JsonValue | null {
    this.pos++;
    const v = new JsonValue();
    v.kind = JsonKind.Object;
    this.skipWs();
    if (this.pos < this.text.length && this.text.charCodeAt(this.pos) == 0x7d) {
      this.pos++;
      return v;
    }
    while (true) {
      this.skipWs();
      if (this.pos >= this.text.length || this.text.charCodeAt(this.pos) != 0x22)
        return this.fail("expected a string key");
      const key = this.string();
      if (key === null) return null;
      this.skipWs();
      if (this.pos >= this.text.length || this.text.charCodeAt(this.pos) != 0x3a)
        return this.fail("expected ':'");
      this.pos++;
      const item = this.value(depth + 1);
      if (item === null) return null;
      v.keys.push(key);
      v.values.push(item);
      this.skipWs();
      if (this.pos >= this.text.length) return this.fail("unterminated object");
      const c = this.text.charCodeAt(this.pos);
      this.pos++;
      if (c == 0x7d) return v;
      if (c != 0x2c) {
        this.pos--;
        return this.fail("expected ',' or '}'");
      }
    }
    return null;
  }
}

/**
 * The value of a JSON number's text (already validated). Integers up to 2^53 are exact; other values are
 * within a few ulps, which is plenty for configuration (and much smaller than a general `strtod`).
 */
function numberValue(raw: string): f64 {
  let i = 0;
  let negative = false;
  if (raw.charCodeAt(0) == 0x2d) {
    negative = true;
    i = 1;
  }
  let mantissa: u64 = 0;
  let exp10: i32 = 0;
  let digits = 0;
  for (; i < raw.length && isDigit(raw.charCodeAt(i)); i++) {
    if (digits < 19) {
      mantissa = mantissa * 10 + <u64>(raw.charCodeAt(i) - 0x30);
      if (mantissa != 0) digits++;
    } else exp10++;
  }
  if (i < raw.length && raw.charCodeAt(i) == 0x2e) {
    for (i++; i < raw.length && isDigit(raw.charCodeAt(i)); i++) {
      if (digits < 19) {
        mantissa = mantissa * 10 + <u64>(raw.charCodeAt(i) - 0x30);
        if (mantissa != 0) digits++;
        exp10--;
      }
    }
  }
  if (i < raw.length) {
    i++; // e or E
    let expNegative = false;
    if (raw.charCodeAt(i) == 0x2b) i++;
    else if (raw.charCodeAt(i) == 0x2d) {
      expNegative = true;
      i++;
    }
    let e: i32 = 0;
    for (; i < raw.length; i++) if (e < 100000) e = e * 10 + (raw.charCodeAt(i) - 0x30);
    exp10 += expNegative ? -e : e;
  }
  let value = <f64>mantissa;
  if (exp10 > 0) {
    for (let k = 0; k < exp10 && value != Infinity; k++) value *= 10;
  } else {
    for (let k = 0; k > exp10 && value != 0; k--) value /= 10;
  }
  return negative ? -value : value;
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

/** Parses a whole JSON document. */
export function parseJson(text: string): JsonResult {
  const p = new Parser(text);
  const result = new JsonResult();
  const v = p.value(0);
  if (v !== null) {
    p.skipWs();
    if (p.pos < text.length) {
      p.fail("unexpected trailing characters");
    } else {
      result.value = v;
      return result;
    }
  }
  result.error = p.error;
  return result;
}
