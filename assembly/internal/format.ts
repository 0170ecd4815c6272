// Decimal formatting without the standard library's radix tables (a few hundred bytes smaller per module).

/** `v` in decimal. */
export function formatInt(v: i64): string {
  if (v == 0) return "0";
  const negative = v < 0;
  // i64.MIN_VALUE has no positive counterpart: work on the unsigned magnitude.
  let x: u64 = negative ? <u64>0 - <u64>v : <u64>v;
  let out = "";
  while (x != 0) {
    out = String.fromCharCode(<i32>(0x30 + <u32>(x % 10))) + out;
    x /= 10;
  }
  return negative ? "-" + out : out;
}
