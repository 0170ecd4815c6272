// A linear-time regular-expression matcher: an RE2 subset compiled to a Thompson NFA and run as a
// Pike VM without captures. Every input position visits each instruction at most once, so a match costs
// at most (input length + 1) × 2 × (program length) steps whatever the pattern: `(a+)+$` on "aaaa…!" is
// as cheap as `a+$`. Nothing backtracks and nothing recurses on the input.
//
// Syntax: literals; `.` (any code unit but \n); classes `[a-z_]`, `[^…]`; escapes `\d \w \s \D \W \S`,
// `\n \r \t \f \v`, `\xHH`, `\` before any punctuation; anchors `^ $ \A \z` (whole input, no multi-line);
// groups `( )` and `(?: )`; alternation `|`; repetition `* + ? {n} {n,} {n,m}` (m ≤ 1000), lazy forms
// accepted (a match/no-match answer does not depend on greediness). Refused with a message:
// backreferences, look-around, `\b`, inline flags, POSIX classes. Matching is a search (like RE2's
// PartialMatch): anchor with `^…$` for a whole-value match. Strings are UTF-16 code units.

const OP_CHAR: u8 = 0; // a = code unit
const OP_ANY: u8 = 1; // any code unit except \n
const OP_CLASS: u8 = 2; // a = class index
const OP_SPLIT: u8 = 3; // a, b = targets
const OP_JMP: u8 = 4; // a = target
const OP_BEGIN: u8 = 5; // position 0
const OP_END: u8 = 6; // position len
const OP_MATCH: u8 = 7;

/** Longest pattern accepted, in code units. */
export const MAX_PATTERN_LENGTH = 1024;
/**
 * Largest compiled program, in instructions (repetition copies its operand). A match costs at most
 * 2 × size steps per input character, so this also bounds the worst case per header value.
 */
export const MAX_PROGRAM_SIZE = 1000;
const MAX_REPEAT = 1000;
const MAX_DEPTH = 64;

/** Work done by every `Regex.test` since the last `takeRegexSteps()` (instructions visited). */
let stepsTotal: u64 = 0;

/** Returns the steps counted since the previous call and resets the count. */
export function takeRegexSteps(): u64 {
  const s = stepsTotal;
  stepsTotal = 0;
  return s;
}

function asciiSwapCase(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c + 32;
  if (c >= 0x61 && c <= 0x7a) return c - 32;
  return c;
}

class CharClass {
  /** Inclusive ranges: lo, hi, lo, hi, ... */
  ranges: Array<i32> = new Array<i32>();
  negated: bool = false;

  add(lo: i32, hi: i32): void {
    this.ranges.push(lo);
    this.ranges.push(hi);
  }
}

const N_CHAR = 0;
const N_ANY = 1;
const N_CLASS = 2;
const N_BEGIN = 3;
const N_END = 4;
const N_CONCAT = 5;
const N_ALT = 6;
const N_REPEAT = 7;
const N_EMPTY = 8;

class Node {
  kind: i32 = N_EMPTY;
  c: i32 = 0;
  cls: i32 = 0;
  min: i32 = 0;
  max: i32 = 0; // -1 = unbounded
  kids: Array<Node> = new Array<Node>();
  /** Instructions this node compiles to. */
  size: i64 = 0;
}

function leaf(kind: i32, c: i32, cls: i32): Node {
  const n = new Node();
  n.kind = kind;
  n.c = c;
  n.cls = cls;
  n.size = kind == N_EMPTY ? 0 : 1;
  return n;
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

function isAlnum(c: i32): bool {
  return isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function hexVal(c: i32): i32 {
  if (isDigit(c)) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

class Parser {
  pos: i32 = 0;
  depth: i32 = 0;
  error: string = "";
  classes: Array<CharClass> = new Array<CharClass>();

  constructor(
    readonly p: string,
    readonly ignoreCase: bool,
  ) {}

  fail(message: string, at: i32): Node {
    if (this.error.length == 0) this.error = message + " at offset " + at.toString();
    return leaf(N_EMPTY, 0, 0);
  }

  get done(): bool {
    return this.pos >= this.p.length || this.error.length > 0;
  }

  peek(): i32 {
    return this.pos < this.p.length ? this.p.charCodeAt(this.pos) : -1;
  }

  parseAlt(): Node {
    if (++this.depth > MAX_DEPTH) return this.fail("nesting deeper than " + MAX_DEPTH.toString(), this.pos);
    const first = this.parseConcat();
    if (this.peek() != 0x7c /* | */) {
      this.depth--;
      return first;
    }
    const alt = new Node();
    alt.kind = N_ALT;
    alt.kids.push(first);
    while (!this.done && this.peek() == 0x7c) {
      this.pos++;
      alt.kids.push(this.parseConcat());
    }
    // SPLIT per extra branch, JMP per non-last branch.
    let size: i64 = 0;
    for (let i = 0; i < alt.kids.length; i++) size += unchecked(alt.kids[i]).size;
    alt.size = size + 2 * <i64>(alt.kids.length - 1);
    this.depth--;
    return alt;
  }

  parseConcat(): Node {
    const cat = new Node();
    cat.kind = N_CONCAT;
    while (!this.done) {
      const c = this.peek();
      if (c == 0x7c || c == 0x29) break; // | )
      const n = this.parseRepeat();
      cat.kids.push(n);
      cat.size += n.size;
      if (cat.size > MAX_PROGRAM_SIZE) return this.fail("pattern too large", this.pos);
    }
    return cat;
  }

  parseRepeat(): Node {
    let atom = this.parseAtom();
    let quantified = false;
    while (!this.done) {
      const start = this.pos;
      const c = this.peek();
      let min = -2;
      let max = -2;
      if (c == 0x2a) {
        min = 0;
        max = -1;
        this.pos++;
      } else if (c == 0x2b) {
        min = 1;
        max = -1;
        this.pos++;
      } else if (c == 0x3f) {
        min = 0;
        max = 1;
        this.pos++;
      } else if (c == 0x7b) {
        const r = this.parseBraces();
        if (r === null) break; // not a repetition: `{` is a literal
        min = unchecked(r[0]);
        max = unchecked(r[1]);
        if (this.error.length > 0) return atom;
      } else {
        break;
      }
      if (quantified) return this.fail("invalid nested repetition operator", start);
      quantified = true;
      if (this.peek() == 0x3f) this.pos++; // lazy: same answer for a yes/no match
      const rep = new Node();
      rep.kind = N_REPEAT;
      rep.min = min;
      rep.max = max;
      rep.kids.push(atom);
      // Exactly what emitNode emits: copies of the operand plus the SPLITs/JMP around them.
      if (max < 0) rep.size = min == 0 ? atom.size + 2 : atom.size * <i64>min + 1;
      else rep.size = atom.size * <i64>max + <i64>(max - min);
      if (rep.size > MAX_PROGRAM_SIZE) return this.fail("pattern too large", start);
      atom = rep;
    }
    return atom;
  }

  /** `{n}`, `{n,}`, `{n,m}` → [min, max] (max -1 = unbounded); null when the text is not one (RE2: literal). */
  parseBraces(): Array<i32> | null {
    const start = this.pos;
    let i = start + 1;
    const p = this.p;
    let n = 0;
    let digits = 0;
    while (i < p.length && isDigit(p.charCodeAt(i)) && digits < 5) {
      n = n * 10 + (p.charCodeAt(i) - 0x30);
      i++;
      digits++;
    }
    if (digits == 0 || digits >= 5) return null;
    let m = n;
    if (i < p.length && p.charCodeAt(i) == 0x2c) {
      i++;
      m = -1;
      let md = 0;
      let mv = 0;
      while (i < p.length && isDigit(p.charCodeAt(i)) && md < 5) {
        mv = mv * 10 + (p.charCodeAt(i) - 0x30);
        i++;
        md++;
      }
      if (md >= 5) return null;
      if (md > 0) m = mv;
    }
    if (i >= p.length || p.charCodeAt(i) != 0x7d) return null;
    this.pos = i + 1;
    if (n > MAX_REPEAT || m > MAX_REPEAT || (m >= 0 && m < n)) {
      this.fail("invalid repeat count " + p.substring(start, i + 1), start);
    }
    return [n, m];
  }

  literal(c: i32): Node {
    if (this.ignoreCase && asciiSwapCase(c) != c) {
      const cls = new CharClass();
      cls.add(c, c);
      this.classes.push(cls);
      return leaf(N_CLASS, 0, this.classes.length - 1);
    }
    return leaf(N_CHAR, c, 0);
  }

  parseAtom(): Node {
    const start = this.pos;
    const c = this.peek();
    if (c == 0x28) {
      // (
      this.pos++;
      if (this.peek() == 0x3f) {
        // (?
        if (this.pos + 1 < this.p.length && this.p.charCodeAt(this.pos + 1) == 0x3a) {
          this.pos += 2;
        } else {
          return this.fail("unsupported group syntax (only (?:...) is allowed)", start);
        }
      }
      const inner = this.parseAlt();
      if (this.error.length > 0) return inner;
      if (this.peek() != 0x29) return this.fail("missing closing )", start);
      this.pos++;
      return inner;
    }
    if (c == 0x29) return this.fail("unexpected )", start);
    if (c == 0x2a || c == 0x2b || c == 0x3f) {
      return this.fail("missing argument to repetition operator " + String.fromCharCode(c), start);
    }
    this.pos++;
    if (c == 0x2e) return leaf(N_ANY, 0, 0);
    if (c == 0x5e) return leaf(N_BEGIN, 0, 0);
    if (c == 0x24) return leaf(N_END, 0, 0);
    if (c == 0x5b) return this.parseClass(start);
    if (c == 0x5c) return this.parseEscape(start);
    return this.literal(c);
  }

  /** Adds the class of `\d \w \s` (lower-case letter `e`) to `cls`; false when `e` is not one. */
  addPerl(cls: CharClass, e: i32): bool {
    if (e == 0x64) {
      cls.add(0x30, 0x39);
    } else if (e == 0x77) {
      cls.add(0x30, 0x39);
      cls.add(0x41, 0x5a);
      cls.add(0x5f, 0x5f);
      cls.add(0x61, 0x7a);
    } else if (e == 0x73) {
      cls.add(0x09, 0x0a);
      cls.add(0x0c, 0x0d);
      cls.add(0x20, 0x20);
    } else {
      return false;
    }
    return true;
  }

  /** The code unit of a single-character escape after `\` (pos at the letter), or -1 after an error. */
  escapedChar(start: i32): i32 {
    const e = this.peek();
    if (e < 0) {
      this.fail("trailing backslash", start);
      return -1;
    }
    this.pos++;
    if (e == 0x6e) return 0x0a;
    if (e == 0x72) return 0x0d;
    if (e == 0x74) return 0x09;
    if (e == 0x66) return 0x0c;
    if (e == 0x76) return 0x0b;
    if (e == 0x78) {
      // \xHH
      const h1 = this.pos < this.p.length ? hexVal(this.p.charCodeAt(this.pos)) : -1;
      const h2 = this.pos + 1 < this.p.length ? hexVal(this.p.charCodeAt(this.pos + 1)) : -1;
      if (h1 < 0 || h2 < 0) {
        this.fail("invalid escape \\x (expected two hex digits)", start);
        return -1;
      }
      this.pos += 2;
      return (h1 << 4) | h2;
    }
    if (isDigit(e)) {
      this.fail("backreferences are not supported (\\" + String.fromCharCode(e) + ")", start);
      return -1;
    }
    if (isAlnum(e) || e == 0x5f) {
      this.fail("unsupported escape \\" + String.fromCharCode(e), start);
      return -1;
    }
    return e; // \. \\ \/ \- \[ ... : the punctuation itself
  }

  parseEscape(start: i32): Node {
    const e = this.peek();
    if (e == 0x41) {
      this.pos++;
      return leaf(N_BEGIN, 0, 0);
    }
    if (e == 0x7a) {
      this.pos++;
      return leaf(N_END, 0, 0);
    }
    const lower = e | 0x20;
    if (lower == 0x64 || lower == 0x77 || lower == 0x73) {
      this.pos++;
      const cls = new CharClass();
      this.addPerl(cls, lower);
      cls.negated = e != lower; // \D \W \S
      this.classes.push(cls);
      return leaf(N_CLASS, 0, this.classes.length - 1);
    }
    const c = this.escapedChar(start);
    if (c < 0) return leaf(N_EMPTY, 0, 0);
    return this.literal(c);
  }

  /** One class member (pos on it): a code unit, or -2 when it was `\d \w \s` (added to cls), -1 on error. */
  classChar(cls: CharClass, start: i32): i32 {
    const c = this.peek();
    if (c == 0x5c) {
      this.pos++;
      const e = this.peek();
      if (e == 0x64 || e == 0x77 || e == 0x73) {
        this.pos++;
        this.addPerl(cls, e);
        return -2;
      }
      if (e == 0x44 || e == 0x57 || e == 0x53) {
        this.fail(
          "negated class escape \\" + String.fromCharCode(e) + " inside [...] is not supported",
          start,
        );
        return -1;
      }
      return this.escapedChar(start);
    }
    this.pos++;
    return c;
  }

  parseClass(start: i32): Node {
    const cls = new CharClass();
    if (this.peek() == 0x5e) {
      cls.negated = true;
      this.pos++;
    }
    let first = true;
    for (;;) {
      if (this.error.length > 0) return leaf(N_EMPTY, 0, 0);
      const c = this.peek();
      if (c < 0) return this.fail("missing closing ]", start);
      if (c == 0x5d && !first) {
        this.pos++;
        break;
      }
      if (c == 0x5b && this.pos + 1 < this.p.length && this.p.charCodeAt(this.pos + 1) == 0x3a) {
        return this.fail("POSIX classes like [:alpha:] are not supported", this.pos);
      }
      first = false;
      const itemAt = this.pos;
      const lo = this.classChar(cls, start);
      if (lo == -1) return leaf(N_EMPTY, 0, 0);
      if (lo == -2) continue;
      // A range `lo-hi` unless `-` is last.
      if (this.peek() == 0x2d && this.pos + 1 < this.p.length && this.p.charCodeAt(this.pos + 1) != 0x5d) {
        this.pos++;
        const hi = this.classChar(cls, start);
        if (hi == -1) return leaf(N_EMPTY, 0, 0);
        if (hi == -2 || hi < lo) {
          return this.fail("invalid character class range " + this.p.substring(itemAt, this.pos), itemAt);
        }
        cls.add(lo, hi);
      } else {
        cls.add(lo, lo);
      }
    }
    this.classes.push(cls);
    return leaf(N_CLASS, 0, this.classes.length - 1);
  }
}

/** A compiled pattern. Build with `Regex.compile`; `test` is safe on any input. */
export class Regex {
  ops: Array<u8> = new Array<u8>();
  a: Array<i32> = new Array<i32>();
  b: Array<i32> = new Array<i32>();
  classes: Array<CharClass> = new Array<CharClass>();
  ignoreCase: bool = false;
  // The program as the matcher reads it: [op, a, b] per instruction; a CLASS has a = its first range in
  // `ranges` and b = (range count << 1) | negated, with ASCII case folding already applied.
  private prog: StaticArray<i32> = new StaticArray<i32>(0);
  private ranges: StaticArray<i32> = new StaticArray<i32>(0);
  private anchored: bool = false;
  // Pike VM state, reused across calls (a VM runs one callback at a time).
  private list1: StaticArray<i32> = new StaticArray<i32>(0);
  private list2: StaticArray<i32> = new StaticArray<i32>(0);
  private marks: StaticArray<u32> = new StaticArray<u32>(0);
  private stack: StaticArray<i32> = new StaticArray<i32>(0);
  private generation: u32 = 0;
  private visits: u64 = 0;

  /** Instructions in the compiled program. */
  get size(): i32 {
    return this.ops.length;
  }

  /** Compiles `pattern`; `error` says what is wrong ("" when fine). */
  static compile(pattern: string, ignoreCase: bool): RegexResult {
    if (pattern.length > MAX_PATTERN_LENGTH) {
      return new RegexResult(null, "pattern longer than " + MAX_PATTERN_LENGTH.toString() + " characters");
    }
    const parser = new Parser(pattern, ignoreCase);
    const root = parser.parseAlt();
    if (parser.error.length == 0 && parser.pos < pattern.length) parser.fail("unexpected )", parser.pos);
    if (parser.error.length > 0) return new RegexResult(null, parser.error);
    const re = new Regex();
    re.ignoreCase = ignoreCase;
    re.classes = parser.classes;
    re.emitNode(root);
    re.emit(OP_MATCH, 0, 0);
    re.freeze();
    return new RegexResult(re, "");
  }

  /** Lays the program out flat for the matcher and allocates its working memory. */
  private freeze(): void {
    const n = this.ops.length;
    const flat = new Array<i32>();
    for (let c = 0; c < this.classes.length; c++) {
      const cls = unchecked(this.classes[c]);
      const r = cls.ranges;
      for (let i = 0; i + 1 < r.length; i += 2) {
        const lo = unchecked(r[i]);
        const hi = unchecked(r[i + 1]);
        flat.push(lo);
        flat.push(hi);
        if (this.ignoreCase) {
          // The other case of the ASCII letters in [lo, hi].
          const ulo = max<i32>(lo, 0x41);
          const uhi = min<i32>(hi, 0x5a);
          if (ulo <= uhi) {
            flat.push(ulo + 32);
            flat.push(uhi + 32);
          }
          const llo = max<i32>(lo, 0x61);
          const lhi = min<i32>(hi, 0x7a);
          if (llo <= lhi) {
            flat.push(llo - 32);
            flat.push(lhi - 32);
          }
        }
      }
    }
    const classStart = new Array<i32>();
    const classMeta = new Array<i32>();
    let at = 0;
    for (let c = 0; c < this.classes.length; c++) {
      const cls = unchecked(this.classes[c]);
      let pairs = cls.ranges.length / 2;
      if (this.ignoreCase) {
        // Recount: folding may have added pairs after each original one.
        pairs = 0;
        const r = cls.ranges;
        for (let i = 0; i + 1 < r.length; i += 2) {
          const lo = unchecked(r[i]);
          const hi = unchecked(r[i + 1]);
          pairs++;
          if (max<i32>(lo, 0x41) <= min<i32>(hi, 0x5a)) pairs++;
          if (max<i32>(lo, 0x61) <= min<i32>(hi, 0x7a)) pairs++;
        }
      }
      classStart.push(at);
      classMeta.push((pairs << 1) | (cls.negated ? 1 : 0));
      at += pairs * 2;
    }
    this.ranges = new StaticArray<i32>(flat.length);
    for (let i = 0; i < flat.length; i++) unchecked((this.ranges[i] = unchecked(flat[i])));
    this.prog = new StaticArray<i32>(n * 3);
    for (let pc = 0; pc < n; pc++) {
      const op = <i32>unchecked(this.ops[pc]);
      unchecked((this.prog[pc * 3] = op));
      if (op == OP_CLASS) {
        const c = unchecked(this.a[pc]);
        unchecked((this.prog[pc * 3 + 1] = unchecked(classStart[c])));
        unchecked((this.prog[pc * 3 + 2] = unchecked(classMeta[c])));
      } else {
        unchecked((this.prog[pc * 3 + 1] = unchecked(this.a[pc])));
        unchecked((this.prog[pc * 3 + 2] = unchecked(this.b[pc])));
      }
    }
    this.anchored = n > 0 && unchecked(this.ops[0]) == OP_BEGIN;
    this.list1 = new StaticArray<i32>(n);
    this.list2 = new StaticArray<i32>(n);
    this.marks = new StaticArray<u32>(n);
    this.stack = new StaticArray<i32>(2 * n + 2); // each instruction pushes at most 2, once per list
  }

  private emit(op: u8, a: i32, b: i32): i32 {
    this.ops.push(op);
    this.a.push(a);
    this.b.push(b);
    return this.ops.length - 1;
  }
  private emitNode(n: Node): void {
    switch (n.kind) {
      case N_CHAR:
        this.emit(OP_CHAR, n.c, 0);
        return;
      case N_ANY:
        this.emit(OP_ANY, 0, 0);
        return;
      case N_CLASS:
        this.emit(OP_CLASS, n.cls, 0);
        return;
      case N_BEGIN:
        this.emit(OP_BEGIN, 0, 0);
        return;
      case N_END:
        this.emit(OP_END, 0, 0);
        return;
      case N_CONCAT:
        for (let i = 0; i < n.kids.length; i++) this.emitNode(unchecked(n.kids[i]));
        return;
      case N_ALT: {
        const jumps = new Array<i32>();
        for (let i = 0; i < n.kids.length; i++) {
          if (i < n.kids.length - 1) {
            const split = this.emit(OP_SPLIT, 0, 0);
            unchecked((this.a[split] = split + 1));
            this.emitNode(unchecked(n.kids[i]));
            jumps.push(this.emit(OP_JMP, 0, 0));
            unchecked((this.b[split] = this.ops.length));
          } else {
            this.emitNode(unchecked(n.kids[i]));
          }
        }
        const end = this.ops.length;
        for (let i = 0; i < jumps.length; i++) unchecked((this.a[unchecked(jumps[i])] = end));
        return;
      }
      case N_REPEAT: {
        const x = unchecked(n.kids[0]);
        if (n.max < 0) {
          // x{min,}: min-1 copies, then a loop `L: x; SPLIT L, next` (or `x*` when min is 0).
          if (n.min == 0) {
            const split = this.emit(OP_SPLIT, 0, 0);
            unchecked((this.a[split] = split + 1));
            this.emitNode(x);
            this.emit(OP_JMP, split, 0);
            unchecked((this.b[split] = this.ops.length));
          } else {
            for (let i = 0; i < n.min - 1; i++) this.emitNode(x);
            const loop = this.ops.length;
            this.emitNode(x);
            const split = this.emit(OP_SPLIT, loop, 0);
            unchecked((this.b[split] = split + 1));
          }
          return;
        }
        for (let i = 0; i < n.min; i++) this.emitNode(x);
        // max-min optional copies: SPLIT next, end; x; SPLIT next, end; x; ...
        const splits = new Array<i32>();
        for (let i = n.min; i < n.max; i++) {
          const split = this.emit(OP_SPLIT, 0, 0);
          unchecked((this.a[split] = split + 1));
          splits.push(split);
          this.emitNode(x);
        }
        const end = this.ops.length;
        for (let i = 0; i < splits.length; i++) unchecked((this.b[unchecked(splits[i])] = end));
        return;
      }
    }
    // N_EMPTY: nothing
  }

  /**
   * Adds `pc0` and everything reachable from it through JMP, SPLIT and satisfied anchors at `pos` to
   * `list` (marking each instruction with `gen`, so none enters twice). Returns the new count.
   */
  private addThread(list: StaticArray<i32>, count: i32, pc0: i32, pos: i32, len: i32, gen: u32): i32 {
    const prog = this.prog;
    const marks = this.marks;
    const stack = this.stack;
    let sp = 0;
    unchecked((stack[sp++] = pc0));
    let visits: u64 = 0;
    while (sp > 0) {
      const pc = unchecked(stack[--sp]);
      if (unchecked(marks[pc]) == gen) continue;
      unchecked((marks[pc] = gen));
      visits++;
      const i = pc * 3;
      const op = unchecked(prog[i]);
      if (op == OP_JMP) {
        unchecked((stack[sp++] = unchecked(prog[i + 1])));
      } else if (op == OP_SPLIT) {
        unchecked((stack[sp++] = unchecked(prog[i + 2])));
        unchecked((stack[sp++] = unchecked(prog[i + 1])));
      } else if (op == OP_BEGIN) {
        if (pos == 0) unchecked((stack[sp++] = pc + 1));
      } else if (op == OP_END) {
        if (pos == len) unchecked((stack[sp++] = pc + 1));
      } else {
        unchecked((list[count++] = pc));
      }
    }
    this.visits += visits;
    return count;
  }

  /** True when the pattern matches somewhere in `s`. Runs in O(len(s) × program size). */
  test(s: string): bool {
    const len = s.length;
    const prog = this.prog;
    const ranges = this.ranges;
    // One call uses len + 2 generations; start over (clearing every mark) long before u32 wraps.
    if (this.generation > 0x7fffffff) {
      for (let i = 0; i < this.marks.length; i++) unchecked((this.marks[i] = 0));
      this.generation = 0;
    }
    let gen = ++this.generation;
    let cur = this.list1;
    let nxt = this.list2;
    let curCount = 0;
    let stepped: u64 = 0;
    let matched = false;
    this.visits = 0;
    for (let pos = 0; pos <= len && !matched; pos++) {
      if (pos == 0 || !this.anchored) {
        // A new thread at every position makes it a search; the marks stop duplicates.
        curCount = this.addThread(cur, curCount, 0, pos, len, gen);
      } else if (curCount == 0) {
        break; // anchored at the start and no thread left: no match is possible any more
      }
      const c = pos < len ? <i32>s.charCodeAt(pos) : -1;
      const nextGen = gen + 1;
      let nxtCount = 0;
      for (let k = 0; k < curCount; k++) {
        const pc = unchecked(cur[k]);
        stepped++;
        const i = pc * 3;
        const op = unchecked(prog[i]);
        if (op == OP_MATCH) {
          matched = true;
          break;
        }
        if (c < 0) continue;
        let ok = false;
        if (op == OP_CHAR) {
          ok = c == unchecked(prog[i + 1]);
        } else if (op == OP_ANY) {
          ok = c != 0x0a;
        } else {
          let j = unchecked(prog[i + 1]);
          const meta = unchecked(prog[i + 2]);
          const end = j + (meta >> 1) * 2;
          let hit = false;
          for (; j < end; j += 2) {
            if (c >= unchecked(ranges[j]) && c <= unchecked(ranges[j + 1])) {
              hit = true;
              break;
            }
          }
          ok = hit != ((meta & 1) != 0);
        }
        if (ok) nxtCount = this.addThread(nxt, nxtCount, pc + 1, pos + 1, len, nextGen);
      }
      const t = cur;
      cur = nxt;
      nxt = t;
      curCount = nxtCount;
      gen = nextGen;
    }
    this.generation = gen;
    stepsTotal += this.visits + stepped;
    return matched;
  }
}

/** The outcome of `Regex.compile`. */
export class RegexResult {
  constructor(
    readonly regex: Regex | null,
    readonly error: string,
  ) {}
}
