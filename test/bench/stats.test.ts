// The benchmark's statistics: quantiles, summaries, per-round ratios, the fixed rate and CPU per request.
import {
  cpuMicrosPerRequest,
  fixedRate,
  median,
  pairDeltas,
  pairRatios,
  quantile,
  summarize,
} from "../../tools/bench/stats";

describe("quantile (linear interpolation between order statistics)", () => {
  test.each([
    { name: "median of an odd count", xs: [3, 1, 2], q: 0.5, expected: 2 },
    { name: "median of an even count is the midpoint", xs: [4, 1, 3, 2], q: 0.5, expected: 2.5 },
    { name: "first quartile interpolates", xs: [1, 2, 3, 4, 5], q: 0.25, expected: 2 },
    { name: "q1 of four values", xs: [10, 20, 30, 40], q: 0.25, expected: 17.5 },
    { name: "q=0 is the minimum", xs: [5, 9, 7], q: 0, expected: 5 },
    { name: "q=1 is the maximum", xs: [5, 9, 7], q: 1, expected: 9 },
    { name: "one value", xs: [42], q: 0.75, expected: 42 },
    { name: "NaN values are ignored", xs: [NaN, 1, 3, NaN], q: 0.5, expected: 2 },
    { name: "no finite value gives NaN", xs: [NaN, Infinity], q: 0.5, expected: NaN },
    { name: "empty gives NaN", xs: [], q: 0.5, expected: NaN },
  ])("$name", ({ xs, q, expected }) => {
    expect(quantile(xs, q)).toEqual(expected);
  });

  test.each([
    { name: "negative q", q: -0.1 },
    { name: "q above 1", q: 1.5 },
    { name: "NaN q", q: NaN },
  ])("refuses $name", ({ q }) => {
    expect(() => quantile([1, 2], q)).toThrow(RangeError);
  });

  test("median does not reorder its input", () => {
    const xs = [3, 1, 2];
    expect(median(xs)).toBe(2);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe("summarize", () => {
  test.each([
    {
      name: "five rounds",
      xs: [100, 90, 110, 95, 105],
      expected: { n: 5, median: 100, q1: 95, q3: 105, min: 90, max: 110, values: [100, 90, 110, 95, 105] },
    },
    {
      name: "a failed round (NaN) is left out",
      xs: [10, NaN, 30],
      expected: { n: 2, median: 20, q1: 15, q3: 25, min: 10, max: 30, values: [10, 30] },
    },
    {
      name: "nothing measured",
      xs: [NaN],
      expected: { n: 0, median: NaN, q1: NaN, q3: NaN, min: NaN, max: NaN, values: [] },
    },
  ])("$name", ({ xs, expected }) => {
    expect(summarize(xs)).toEqual(expected);
  });
});

describe("pair ratios and deltas, round by round", () => {
  test.each([
    {
      name: "ratios per round, then the median",
      a: [50, 60, 40],
      b: [100, 100, 80],
      ratios: [0.5, 0.6, 0.5],
      median: 0.5,
    },
    {
      name: "a round missing on either side is skipped",
      a: [50, NaN, 30],
      b: [100, 100, NaN],
      ratios: [0.5],
      median: 0.5,
    },
    { name: "a zero denominator is skipped", a: [5, 6], b: [0, 3], ratios: [2], median: 2 },
    { name: "extra rounds of one side are ignored", a: [1, 2, 3], b: [2], ratios: [0.5], median: 0.5 },
  ])("$name", ({ a, b, ratios, median: m }) => {
    const s = pairRatios(a, b);
    expect(s.values).toEqual(ratios);
    expect(s.median).toBe(m);
  });

  test("ratios are not the ratio of medians", () => {
    // medians 20 vs 20 (ratio 1), but round by round a is half of b twice and double once
    const s = pairRatios([10, 20, 40], [20, 40, 20]);
    expect(s.values).toEqual([0.5, 0.5, 2]);
    expect(s.median).toBe(0.5);
  });

  test.each([
    {
      name: "added latency per round",
      a: [130, 125, 140],
      b: [100, 110, 100],
      deltas: [30, 15, 40],
      median: 30,
    },
    { name: "negative differences are kept", a: [90], b: [100], deltas: [-10], median: -10 },
    { name: "NaN rounds are skipped", a: [NaN, 5], b: [1, 2], deltas: [3], median: 3 },
  ])("$name", ({ a, b, deltas, median: m }) => {
    const s = pairDeltas(a, b);
    expect(s.values).toEqual(deltas);
    expect(s.median).toBe(m);
  });
});

describe("fixedRate", () => {
  test.each([
    {
      name: "half of the lowest capacity, rounded down to 100",
      caps: [20_000, 9_870, 15_000],
      expected: 4_900,
    },
    { name: "NaN and zero capacities are ignored", caps: [NaN, 0, 8_000], expected: 4_000 },
    { name: "at least one step", caps: [150], expected: 100 },
  ])("$name", ({ caps, expected }) => {
    expect(fixedRate(caps)).toBe(expected);
  });

  test("another fraction and step", () => {
    expect(fixedRate([10_000], 0.25, 50)).toBe(2_500);
  });

  test("no capacity at all is an error", () => {
    expect(() => fixedRate([NaN, 0])).toThrow("no positive capacity");
  });
});

describe("cpuMicrosPerRequest", () => {
  test.each([
    {
      name: "100 ticks/s: 50 ticks over 10,000 requests",
      ticks: 50,
      hz: 100,
      requests: 10_000,
      expected: 50,
    },
    { name: "no CPU used", ticks: 0, hz: 100, requests: 10, expected: 0 },
    { name: "another tick rate", ticks: 300, hz: 250, requests: 1_000, expected: 1_200 },
    { name: "no requests gives NaN", ticks: 5, hz: 100, requests: 0, expected: NaN },
    { name: "a zero tick rate gives NaN", ticks: 5, hz: 0, requests: 10, expected: NaN },
  ])("$name", ({ ticks, hz, requests, expected }) => {
    expect(cpuMicrosPerRequest(ticks, hz, requests)).toEqual(expected);
  });
});
