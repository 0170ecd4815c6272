// Parsers and command lines of the benchmark: wrk's and loadgen's output, /proc files, run.ts arguments.
import {
  loadgenArgs,
  parseLoadgenOutput,
  parseWrkOutput,
  wrkArgs,
  wrkErrors,
  wrkRps,
} from "../../tools/bench/load";
import { envoyVersionOf } from "../../tools/bench/machine";
import { parseProcStat, parseVmRssKb } from "../../tools/bench/proc";
import { parseDsoReport, wasmSelfTimes } from "../../tools/bench/profile";
import { modulesToBuild, parseArgs, parseResultJson, settingsFor } from "../../tools/bench/run";

const WRK_OUT = `Running 5s test @ http://127.0.0.1:4000/get
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.11ms    1.76ms  13.57ms   86.82%
  5897 requests in 2.02s, 685.30KB read
Requests/sec:   2925.37
WRK_JSON {"durationUs":2000000,"requests":5000,"bytes":700000,"errors":{"connect":0,"read":1,"write":0,"status":2,"timeout":3},"latency":{"min":72,"max":13570,"mean":1110.5,"p50":145,"p90":3441,"p99":8010,"p999":11504}}
`;

describe("wrk output (wrk-report.lua)", () => {
  const r = parseWrkOutput(WRK_OUT);
  test.each([
    { name: "requests", got: r.requests, expected: 5000 },
    { name: "p50 in µs", got: r.latency.p50, expected: 145 },
    { name: "p99 in µs", got: r.latency.p99, expected: 8010 },
    { name: "max in µs", got: r.latency.max, expected: 13570 },
    { name: "requests/s from requests and duration", got: wrkRps(r), expected: 2500 },
    { name: "errors add up socket errors, timeouts and non-2xx/3xx", got: wrkErrors(r), expected: 6 },
  ])("$name", ({ got, expected }) => {
    expect(got).toBe(expected);
  });

  test("no WRK_JSON line is an error that shows the output", () => {
    expect(() => parseWrkOutput("unable to connect to 127.0.0.1:1 Connection refused\n")).toThrow(
      /no WRK_JSON line:\nunable to connect/,
    );
  });

  test("zero duration gives NaN requests/s", () => {
    expect(wrkRps({ ...r, durationUs: 0 })).toBeNaN();
  });
});

describe("wrk and loadgen command lines", () => {
  const headers = [["user-agent", "b/1"]] as const;
  test("wrk: one thread, connections, duration, report script, headers, URL last", () => {
    const args = wrkArgs({ url: "http://127.0.0.1:4000/get", connections: 32, durationS: 5, headers });
    expect(args.slice(0, 5)).toEqual(["-t1", "-c32", "-d5s", "--timeout", "5s"]);
    expect(args[5]).toBe("-s");
    expect(args[6]).toMatch(/tools\/bench\/wrk-report\.lua$/);
    expect(args.slice(7)).toEqual(["-H", "user-agent: b/1", "http://127.0.0.1:4000/get"]);
  });

  test("loadgen: rate, duration, connections and a request bound", () => {
    expect(
      loadgenArgs({
        binary: "x",
        url: "http://127.0.0.1:4000/get",
        rate: 2500,
        durationS: 5,
        connections: 16,
        headers,
      }),
    ).toEqual([
      "-url",
      "http://127.0.0.1:4000/get",
      "-rate",
      "2500",
      "-d",
      "5s",
      "-c",
      "16",
      "-n",
      "12500",
      "-H",
      "user-agent: b/1",
    ]);
  });

  test.each([
    { name: "a non-loopback host", url: "http://10.0.0.1:80/" },
    { name: "a host name", url: "http://localhost.example:80/" },
    { name: "https", url: "https://127.0.0.1:443/" },
  ])("refuses $name", ({ url }) => {
    expect(() => wrkArgs({ url, connections: 1, durationS: 1, headers: [] })).toThrow(
      "only target http://127",
    );
    expect(() =>
      loadgenArgs({ binary: "x", url, rate: 1, durationS: 1, connections: 1, headers: [] }),
    ).toThrow("only target http://127");
  });

  test("wrk needs whole seconds of at least 1", () => {
    expect(() =>
      wrkArgs({ url: "http://127.0.0.1:1/", connections: 1, durationS: 0.5, headers: [] }),
    ).toThrow("durationS");
  });
});

describe("loadgen output", () => {
  test("the last JSON line is taken", () => {
    const r = parseLoadgenOutput('warming\n{"rate":1000,"completed":5000,"p99Us":812.5,"errors":0}\n');
    expect([r.rate, r.completed, r.p99Us, r.errors]).toEqual([1000, 5000, 812.5, 0]);
  });
  test("no JSON is an error", () => {
    expect(() => parseLoadgenOutput("loadgen: refusing non-loopback target\n")).toThrow("no JSON line");
  });
});

describe("/proc parsers", () => {
  test.each([
    {
      name: "a plain command name",
      text: "4242 (envoy) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 567 0 0 20 0 9 0 100 0 0",
      ticks: 1801,
    },
    {
      name: "a command name with spaces and parentheses",
      text: "7 (wrk (x) y) R 1 7 7 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0 5 0 0",
      ticks: 30,
    },
  ])("utime+stime: $name", ({ text, ticks }) => {
    expect(parseProcStat(text).ticks).toBe(ticks);
  });

  test("a stat line without fields is an error", () => {
    expect(() => parseProcStat("42 (envoy) S 1")).toThrow("cannot read utime/stime");
  });

  test("VmRSS in KiB", () => {
    expect(parseVmRssKb("Name:\tenvoy\nVmPeak:\t  999 kB\nVmRSS:\t   64512 kB\nThreads:\t9\n")).toBe(64512);
  });

  test("no VmRSS line is an error", () => {
    expect(() => parseVmRssKb("Name:\tenvoy\n")).toThrow("no VmRSS");
  });

  test("Envoy's build id from --version", () => {
    expect(envoyVersionOf("\nenvoy  version: abc/1.39.0/Clean/RELEASE/BoringSSL\n\n")).toBe(
      "abc/1.39.0/Clean/RELEASE/BoringSSL",
    );
  });
});

describe("run.ts arguments", () => {
  test.each([
    { name: "defaults", argv: [], expected: { smoke: false, scenarios: ["direct", "httpbin"], pin: true } },
    {
      name: "smoke, only and scenarios",
      argv: ["--smoke", "--only", "hello,hello-native", "--scenarios", "direct"],
      expected: { smoke: true, only: ["hello", "hello-native"], scenarios: ["direct"], pin: true },
    },
    {
      name: "reps and no pinning",
      argv: ["--reps", "7", "--no-pin"],
      expected: { smoke: false, scenarios: ["direct", "httpbin"], pin: false, reps: 7 },
    },
  ])("$name", ({ argv, expected }) => {
    expect(parseArgs(argv)).toEqual(expected);
  });

  test.each([
    { name: "an unknown flag", argv: ["--fast"], message: 'unknown argument "--fast"' },
    { name: "an unknown scenario", argv: ["--scenarios", "nginx"], message: 'unknown scenario "nginx"' },
    { name: "--only without a value", argv: ["--only"], message: "--only needs a value" },
    { name: "zero repetitions", argv: ["--reps", "0"], message: "--reps: expected 1..50" },
    { name: "a fractional repetition count", argv: ["--reps", "2.5"], message: "--reps: expected 1..50" },
  ])("refuses $name", ({ argv, message }) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });

  test.each([
    { name: "a full run", smoke: false, reps: 5, warmupS: 5, saturationS: 5, c1S: 4, fixedS: 5 },
    { name: "a smoke run", smoke: true, reps: 1, warmupS: 1, saturationS: 1, c1S: 1, fixedS: 1 },
  ])("settings of $name", ({ name: _name, smoke, ...expected }) => {
    const s = settingsFor({ smoke, scenarios: ["direct"], pin: true });
    expect({
      reps: s.reps,
      warmupS: s.warmupS,
      saturationS: s.saturationS,
      c1S: s.c1S,
      fixedS: s.fixedS,
    }).toEqual(expected);
  });

  test.each([
    { name: "a full run builds everything", o: { smoke: false }, expected: undefined },
    {
      name: "a smoke run builds hello and the empty module",
      o: { smoke: true },
      expected: ["hello", "test/empty"],
    },
    {
      name: "--only builds the plugins behind native and Go variants",
      o: { smoke: false, only: ["none", "ratelimit-native", "b3", "hello-go"] },
      expected: ["b3", "hello", "ratelimit"],
    },
  ])("$name", ({ o, expected }) => {
    expect(modulesToBuild(o)).toEqual(expected);
  });
});

describe("perf report --sort dso", () => {
  test("shares per object, V8's anonymous code merged, largest first", () => {
    const text = [
      "# Samples: 5K of event 'cpu-clock'",
      "# Overhead  Shared Object",
      "# ........  .................",
      "#",
      "    41.50%  envoy",
      "    30.25%  [kernel.kallsyms]",
      "    12.00%  [JIT] tid 4242",
      "     8.00%  //anon",
      "     0.75%  libc.so.6",
      "",
      "#",
      "# (Tip: ...)",
    ].join("\n");
    expect(parseDsoReport(text)).toEqual([
      { dso: "envoy", percent: 41.5 },
      { dso: "[kernel.kallsyms]", percent: 30.25 },
      { dso: "V8 generated code (Wasm + stubs)", percent: 20 },
      { dso: "libc.so.6", percent: 0.75 },
    ]);
  });

  test("no sample lines: empty", () => {
    expect(parseDsoReport("# nothing\n")).toEqual([]);
  });
});

describe("wasmSelfTimes (V8 CPU profile)", () => {
  const node = (id: number, functionName: string, url: string) => ({ id, callFrame: { functionName, url } });
  test("self samples per Wasm function, JavaScript as other, idle left out", () => {
    const profile = {
      nodes: [
        node(1, "(root)", ""),
        node(2, "(idle)", ""),
        node(3, "$~lib/string/String.UTF8.encode", "wasm://wasm/abc"),
        node(4, "$filters/accesslog/src/json/JsonWriter#field", "wasm://wasm/abc"),
        node(5, "proxy_get_property", "file:///x/vm.ts"),
      ],
      samples: [2, 2, 3, 3, 3, 4, 5, 3, 4, 5, 2],
    };
    expect(wasmSelfTimes(profile)).toEqual([
      { name: "$~lib/string/String.UTF8.encode", percent: 50 },
      { name: "$filters/accesslog/src/json/JsonWriter#field", percent: 25 },
      { name: "other", percent: 25 },
    ]);
  });
});

describe("parseResultJson", () => {
  test("nulls written for NaN come back as NaN; unpinned CPUs stay null", () => {
    const r = parseResultJson(
      '{"settings":{"envoyCpu":null,"loadCpu":"1"},"scenarios":[{"fixedRate":null}]}',
    );
    expect(r.settings.envoyCpu).toBeNull();
    expect(r.settings.loadCpu).toBe("1");
    expect(r.scenarios[0]!.fixedRate).toBeNaN();
  });
});
