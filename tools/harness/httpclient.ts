/** Minimal HTTP/1.1 client on node:http for e2e tests (one new connection per call by default). */
import * as http from "node:http";

export interface RequestOptions {
  url: string;
  method?: string;
  /** Array values are sent as repeated header lines. */
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** `false` (default): a fresh connection per request, no keep-alive. */
  agent?: false | http.Agent;
  /** Whole-request timeout (default 10 s). */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  /** Response headers, lowercase names (node:http semantics). */
  headers: http.IncomingHttpHeaders;
  /** Raw header list as received: [name, value, name, value, ...]. */
  rawHeaders: string[];
  body: string;
  json<T = unknown>(): T;
}

export function request(opts: RequestOptions): Promise<HttpResponse> {
  const url = new URL(opts.url);
  if (url.protocol !== "http:") {
    return Promise.reject(new Error(`request: only http:// URLs are supported, got ${opts.url}`));
  }
  const method = (opts.method ?? "GET").toUpperCase();
  const headers: Record<string, string | string[]> = { ...opts.headers };
  const body =
    opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
  const hasHeader = (name: string) => Object.keys(headers).some((h) => h.toLowerCase() === name);
  if (body !== undefined && !hasHeader("content-length") && !hasHeader("transfer-encoding")) {
    headers["content-length"] = String(body.length);
  }
  const timeoutMs = opts.timeoutMs ?? 10_000;

  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: url.port || 80,
        path: `${url.pathname}${url.search}`,
        method,
        headers,
        agent: opts.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: text,
            json<T>(): T {
              try {
                return JSON.parse(text) as T;
              } catch (err) {
                throw new Error(
                  `${method} ${opts.url}: response (status ${res.statusCode}) is not JSON: ` +
                    `${(err as Error).message}; body starts with ${JSON.stringify(text.slice(0, 200))}`,
                  { cause: err },
                );
              }
            },
          });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`${method} ${opts.url}: no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

/**
 * Request headers as echoed by httpbin's `/headers` (or `/anything`, `/get`...), normalised to
 * lowercase names and lists of values. Accepts the response body (string) or the parsed JSON.
 *
 * - go-httpbin: `{"headers": {"X-Foo": ["v1", "v2"]}}` (lists, canonical-cased names).
 * - original Flask httpbin: `{"headers": {"X-Foo": "v1,v2"}}` (repeated headers comma-joined);
 *   these strings are split on commas, so a single value that itself contains a comma
 *   (e.g. an Accept list) comes back as several entries.
 */
export function httpbinHeaders(body: string | object): Record<string, string[]> {
  const parsed: unknown = typeof body === "string" ? JSON.parse(body) : body;
  const raw = (parsed as { headers?: unknown } | null)?.headers;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error(`httpbinHeaders: no "headers" object in ${JSON.stringify(parsed).slice(0, 200)}`);
  }
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    let values: string[];
    if (Array.isArray(value)) values = value.map(String);
    else if (typeof value === "string") values = value.split(",").map((v) => v.trim());
    else values = [String(value)];
    const key = name.toLowerCase();
    (out[key] ??= []).push(...values);
  }
  return out;
}
