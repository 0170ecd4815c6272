// The request as rules see it (after anti-spoofing), and condition evaluation.
//
// Multi-value sources: a header may arrive as several field lines (each is one value; with
// `splitCommas` each line is also split on commas), a cookie name may repeat across and within `cookie`
// lines, and a query parameter may repeat. `first` looks at the first value only, `any` needs one value to
// match, `all` needs every value to match. A source with no value fails every operator except `absent`,
// also when inverted (as Envoy's header matcher does without `treat_missing_header_as_empty`); `invert`
// negates the result after the multi-value step.

import { Header, parseCookies, percentDecode } from "../../../assembly";
import { Condition, Multi, Op, Source, asciiLower } from "./config";

export class RequestView {
  private cookies: Array<string> | null = null; // flat: name, value, ...
  private query: Array<string> | null = null; // flat, percent-decoded
  private _path: string | null = null;

  constructor(readonly headers: Array<Header>) {}

  /** The first value of header `name` (lower-case), or null. */
  first(name: string): string | null {
    for (let i = 0; i < this.headers.length; i++) {
      const h = unchecked(this.headers[i]);
      if (h.name == name) return h.value;
    }
    return null;
  }

  /** `:path` as sent, "" when absent. */
  get rawPath(): string {
    const p = this.first(":path");
    return p === null ? "" : p;
  }

  /** `:path` without query string and fragment. */
  get path(): string {
    if (this._path === null) {
      const p = this.rawPath;
      let end = p.indexOf("?");
      const hash = p.indexOf("#");
      if (end < 0 || (hash >= 0 && hash < end)) end = hash;
      this._path = end < 0 ? p : p.substring(0, end);
    }
    return this._path!;
  }

  headerValues(name: string, splitCommas: bool): Array<string> {
    const out = new Array<string>();
    for (let i = 0; i < this.headers.length; i++) {
      const h = unchecked(this.headers[i]);
      if (h.name != name) continue;
      if (!splitCommas) {
        out.push(h.value);
        continue;
      }
      let start = 0;
      const v = h.value;
      while (start <= v.length) {
        let comma = v.indexOf(",", start);
        if (comma < 0) comma = v.length;
        const item = v.substring(start, comma).trim();
        if (item.length > 0) out.push(item);
        start = comma + 1;
      }
    }
    return out;
  }

  cookieValues(name: string): Array<string> {
    let c = this.cookies;
    if (c === null) {
      c = new Array<string>();
      for (let i = 0; i < this.headers.length; i++) {
        const h = unchecked(this.headers[i]);
        if (h.name == "cookie") {
          const parsed = parseCookies(h.value);
          for (let j = 0; j < parsed.length; j++) c.push(unchecked(parsed[j]));
        }
      }
      this.cookies = c;
    }
    const out = new Array<string>();
    for (let i = 0; i + 1 < c.length; i += 2) if (unchecked(c[i]) == name) out.push(unchecked(c[i + 1]));
    return out;
  }

  queryValues(name: string): Array<string> {
    let q = this.query;
    if (q === null) {
      q = new Array<string>();
      const p = this.rawPath;
      const mark = p.indexOf("?");
      const hash = p.indexOf("#");
      if (mark >= 0 && (hash < 0 || hash > mark)) {
        let end = p.indexOf("#", mark);
        if (end < 0) end = p.length;
        let start = mark + 1;
        while (start < end) {
          let amp = p.indexOf("&", start);
          if (amp < 0 || amp > end) amp = end;
          const part = p.substring(start, amp);
          if (part.length > 0) {
            const eq = part.indexOf("=");
            q.push(percentDecode(eq < 0 ? part : part.substring(0, eq)));
            q.push(eq < 0 ? "" : percentDecode(part.substring(eq + 1)));
          }
          start = amp + 1;
        }
      }
      this.query = q;
    }
    const out = new Array<string>();
    for (let i = 0; i + 1 < q.length; i += 2) if (unchecked(q[i]) == name) out.push(unchecked(q[i + 1]));
    return out;
  }

  /** The values a condition looks at. */
  valuesFor(c: Condition): Array<string> {
    switch (c.source) {
      case Source.Header:
        return this.headerValues(c.name, c.splitCommas);
      case Source.Cookie:
        return this.cookieValues(c.name);
      case Source.Query:
        return this.queryValues(c.name);
      case Source.Path:
        return [this.path];
    }
    const m = this.first(":method");
    return m === null ? new Array<string>() : [m];
  }
}

function testValue(c: Condition, raw: string): bool {
  if (c.op == Op.Regex) {
    const re = c.regex;
    return re !== null && re.test(raw);
  }
  const v = c.ignoreCase ? asciiLower(raw) : raw;
  switch (c.op) {
    case Op.Exact:
      return v == c.value;
    case Op.Prefix:
      return v.startsWith(c.value);
    case Op.Suffix:
      return v.endsWith(c.value);
    case Op.Contains:
      return v.indexOf(c.value) >= 0;
  }
  return false;
}

/** True when condition `c` holds for the request. */
export function evaluate(c: Condition, req: RequestView): bool {
  const values = req.valuesFor(c);
  if (c.op == Op.Present || c.op == Op.Absent) {
    const r = values.length > 0 == (c.op == Op.Present);
    return r != c.invert;
  }
  if (values.length == 0) return false;
  let r = false;
  if (c.multi == Multi.First) {
    r = testValue(c, unchecked(values[0]));
  } else if (c.multi == Multi.Any) {
    for (let i = 0; i < values.length && !r; i++) r = testValue(c, unchecked(values[i]));
  } else {
    r = true;
    for (let i = 0; i < values.length && r; i++) r = testValue(c, unchecked(values[i]));
  }
  return r != c.invert;
}
