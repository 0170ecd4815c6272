// Header pairs as the SDK hands them out. Envoy delivers names lower-cased; values are raw bytes decoded
// as UTF-8 (invalid bytes never trap). Repeated headers appear as repeated pairs, in order.

/** One header (or trailer, or gRPC metadata) pair. */
export class Header {
  constructor(
    public name: string,
    public value: string,
  ) {}
}

/** An ordered list of pairs; a name may repeat. */
export type Headers = Array<Header>;

/** The first value of `name` in `headers` (names compared exactly; Envoy's are lower-case), or null. */
export function firstHeader(headers: Array<Header>, name: string): string | null {
  for (let i = 0, n = headers.length; i < n; i++) {
    const h = unchecked(headers[i]);
    if (h.name == name) return h.value;
  }
  return null;
}

/** Every value of `name` in `headers`, in order (empty when absent). */
export function allHeaders(headers: Array<Header>, name: string): Array<string> {
  const out = new Array<string>();
  for (let i = 0, n = headers.length; i < n; i++) {
    const h = unchecked(headers[i]);
    if (h.name == name) out.push(h.value);
  }
  return out;
}

/** Builds a header list from alternating names and values: `headersOf([":status", "200"])`. */
export function headersOf(flat: Array<string>): Array<Header> {
  const out = new Array<Header>();
  for (let i = 0; i + 1 < flat.length; i += 2)
    out.push(new Header(unchecked(flat[i]), unchecked(flat[i + 1])));
  return out;
}
