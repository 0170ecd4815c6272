// A small streaming JSON writer for access-log records. Output is always one line: every control
// character, U+2028/U+2029 and lone surrogates are escaped, so a hostile header or path can never split
// a log line or produce invalid JSON.

const HEX = "0123456789abcdef";

function u4(c: i32): string {
  return (
    "\\u" +
    HEX.charAt((c >> 12) & 0xf) +
    HEX.charAt((c >> 8) & 0xf) +
    HEX.charAt((c >> 4) & 0xf) +
    HEX.charAt(c & 0xf)
  );
}

/** The escape sequence for code unit `c` at `i` of `s`, or null when it can be written as is. */
function escapeOf(s: string, i: i32, c: i32): string | null {
  if (c >= 0x20 && c < 0x7f && c != 0x22 && c != 0x5c) return null;
  if (c == 0x22) return '\\"';
  if (c == 0x5c) return "\\\\";
  if (c == 0x0a) return "\\n";
  if (c == 0x0d) return "\\r";
  if (c == 0x09) return "\\t";
  if (c == 0x08) return "\\b";
  if (c == 0x0c) return "\\f";
  if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) return u4(c);
  if (c >= 0xd800 && c <= 0xdbff) {
    // A high surrogate is fine only when a low surrogate follows.
    if (i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) return null;
    }
    return u4(c);
  }
  if (c >= 0xdc00 && c <= 0xdfff) {
    if (i > 0) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) return null;
    }
    return u4(c);
  }
  return null;
}

/** `s` as a JSON string literal (with quotes). */
export function jsonString(s: string): string {
  let out = '"';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const e = escapeOf(s, i, s.charCodeAt(i));
    if (e === null) continue;
    if (i > run) out += s.substring(run, i);
    out += e;
    run = i + 1;
  }
  if (run == 0) return '"' + s + '"';
  if (run < s.length) out += s.substring(run);
  return out + '"';
}

/**
 * Builds one JSON object or array at a time. Values longer than `maxValueLength` UTF-16 units are cut
 * and end in "...", so one huge header cannot blow up a record.
 */
export class JsonWriter {
  private parts: Array<string> = new Array<string>();
  /** One entry per open object or array: true until its first member is written. */
  private first: Array<bool> = new Array<bool>();
  /** True right after `key()`: the next value belongs to it and needs no comma. */
  private afterKey: bool = false;

  constructor(public maxValueLength: i32 = 0x7fffffff) {}

  private separate(): void {
    if (this.afterKey) {
      this.afterKey = false;
      return;
    }
    const n = this.first.length;
    if (n == 0) return;
    if (unchecked(this.first[n - 1])) unchecked((this.first[n - 1] = false));
    else this.parts.push(",");
  }

  private cut(s: string): string {
    if (s.length <= this.maxValueLength) return s;
    let end = this.maxValueLength;
    // Do not split a surrogate pair.
    const c = s.charCodeAt(end - 1);
    if (c >= 0xd800 && c <= 0xdbff) end--;
    return s.substring(0, end) + "...";
  }

  beginObject(): void {
    this.separate();
    this.parts.push("{");
    this.first.push(true);
  }

  endObject(): void {
    this.first.pop();
    this.parts.push("}");
  }

  beginArray(): void {
    this.separate();
    this.parts.push("[");
    this.first.push(true);
  }

  endArray(): void {
    this.first.pop();
    this.parts.push("]");
  }

  /** Starts member `k` of the current object; exactly one value (or object, or array) must follow. */
  key(k: string): void {
    this.separate();
    this.parts.push(jsonString(k));
    this.parts.push(":");
    this.afterKey = true;
  }

  private value(text: string): void {
    this.separate();
    this.parts.push(text);
  }

  string(v: string): void {
    this.value(jsonString(this.cut(v)));
  }

  nullableString(v: string | null): void {
    if (v === null) this.value("null");
    else this.value(jsonString(this.cut(v)));
  }

  int(v: i64): void {
    this.value(v.toString());
  }

  /** A number already formatted as JSON (e.g. "12.345"). */
  number(text: string): void {
    this.value(text);
  }

  bool(v: bool): void {
    this.value(v ? "true" : "false");
  }

  null(): void {
    this.value("null");
  }

  fieldString(k: string, v: string): void {
    this.key(k);
    this.string(v);
  }

  fieldNullableString(k: string, v: string | null): void {
    this.key(k);
    this.nullableString(v);
  }

  fieldInt(k: string, v: i64): void {
    this.key(k);
    this.int(v);
  }

  /** An integer, or null when `v` is negative (the attribute was not available). */
  fieldIntOrNull(k: string, v: i64): void {
    this.key(k);
    if (v < 0) this.null();
    else this.int(v);
  }

  fieldBool(k: string, v: bool): void {
    this.key(k);
    this.bool(v);
  }

  toString(): string {
    return this.parts.join("");
  }
}
