/**
 * Cross-check against the real oracle: CPython's `json` module. Thousands of random JSON texts
 * (valid ones with every formatting freedom, and mutated ones that are mostly invalid) go to ONE
 * python3 process; for each, Python's verdict (error message, or the three encodings) must match
 * ours byte for byte.
 */
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { IntegrityError, UsageError } from "../errors/index.js";
import { floatRepr } from "./float-repr.js";
import { dumpsCompact, dumpsHash, dumpsManifest, parsePyJson, pyEquals, type PyValue } from "./index.js";

const PYTHON = String.raw`
import json, sys

def dump(f):
    try:
        s = f()
    except ValueError as e:
        return {"kind": "ValueError", "msg": str(e)}
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return {"kind": "UnicodeEncodeError"}
    return {"kind": "ok", "text": s}

def verdict(text):
    try:
        v = json.loads(text)
    except json.JSONDecodeError as e:
        return {"kind": "JSONDecodeError", "msg": str(e)}
    except ValueError as e:
        return {"kind": "ValueError", "msg": str(e)}
    return {
        "kind": "ok",
        "manifest": dump(lambda: json.dumps(v, ensure_ascii=False, allow_nan=False)),
        "compact": dump(lambda: json.dumps(v, ensure_ascii=False, allow_nan=False, separators=(",", ":"))),
        "hash": dump(lambda: json.dumps(v, sort_keys=True, separators=(",", ":"))),
    }

req = json.loads(sys.stdin.buffer.read())
out = {
    "texts": [verdict(t) for t in req["texts"]],
    "floats": [repr(float(x)) for x in req["floats"]],
    "equal": [json.loads(a) == json.loads(b) for a, b in req["pairs"]],
    "version": sys.version_info[:2],
}
sys.stdout.write(json.dumps(out))
`;

interface DumpVerdict {
  kind: "ok" | "ValueError" | "UnicodeEncodeError";
  text?: string;
  msg?: string;
}
interface TextVerdict {
  kind: "ok" | "JSONDecodeError" | "ValueError";
  msg?: string;
  manifest?: DumpVerdict;
  compact?: DumpVerdict;
  hash?: DumpVerdict;
}
interface PythonAnswer {
  texts: TextVerdict[];
  floats: string[];
  equal: boolean[];
  version: [number, number];
}

// ---- random JSON texts -----------------------------------------------------------------------

const ws = fc.constantFrom("", "", "", " ", "\n", "\t", "\r\n  ");
const hex4 = (n: number, upper: boolean): string => {
  const h = n.toString(16).padStart(4, "0");
  return "\\u" + (upper ? h.toUpperCase() : h);
};
const strPiece = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }).filter((c) => c !== '"' && c !== "\\") },
  { weight: 3, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => c >= " " && c !== '"' && c !== "\\") },
  { weight: 2, arbitrary: fc.constantFrom('\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\u007f", "\u2028", "😀", "\uff01") },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.boolean()).map(([n, up]) => hex4(n, up)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0xd800, max: 0xdfff }), fc.boolean()).map(([n, up]) => hex4(n, up)) },
  { weight: 1, arbitrary: fc.constantFrom("\\ud83d\\ude00", "\\uD83D\\uDE00", "\\udbff\\udfff", "\\ud800\\ud800\\udc00") },
);
const strLit = fc.array(strPiece, { maxLength: 6 }).map((p) => '"' + p.join("") + '"');

const digits = (min: number, max: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: min, maxLength: max });
/** A lexeme from the JSON grammar, built piece by piece: many digits, odd exponents. */
const grammarNumber = fc
  .tuple(fc.boolean(), fc.oneof(fc.constant("0"), fc.tuple(fc.constantFrom(..."123456789"), digits(0, 25)).map(([a, b]) => a + b)),
    fc.option(digits(1, 25)), fc.option(fc.tuple(fc.constantFrom("e", "E"), fc.constantFrom("", "+", "-"), digits(1, 4))))
  .map(([neg, int, frac, exp]) => (neg ? "-" : "") + int + (frac === null ? "" : "." + frac) + (exp === null ? "" : exp.join("")));
/** A double written the way JS writes it, then varied (E, no "+", padded exponent, zeros). */
const doubleLexeme = fc
  .tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 21 }))
  .map(([x, style, precision]) => {
    const exp = x.toExponential();
    switch (style) {
      case 0: return String(x);
      case 1: return exp;
      case 2: return exp.replace("e+", "E");
      case 3: return exp.replace(/e([-+])/, "e$10");
      case 4: return x.toExponential(Math.min(precision, 20));
      default: return x.toPrecision(precision).replace(/e\+?/, "e");
    }
  })
  .filter((s) => /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/.test(s));
const numberLit = fc.oneof(
  grammarNumber,
  doubleLexeme,
  fc.bigInt({ min: -(10n ** 22n), max: 10n ** 22n }).map(String),
  fc.constantFrom("-0", "-0.0", "0.0", "1e400", "-1e400", "1e-400", "NaN", "Infinity", "-Infinity", "9007199254740993", "1E5", "1.0e-5"),
);
const scalarLit = fc.oneof({ weight: 3, arbitrary: numberLit }, { weight: 2, arbitrary: strLit }, fc.constantFrom("true", "false", "null"));
const keyLit = fc.oneof(strLit, fc.constantFrom('"a"', '"b"', '"\\u0061"', '"10"', '"9"', '"😀"', '"\\ud83d\\ude00"', '"\uff01"', '""'));

const { text: jsonText } = fc.letrec<{ text: string; array: string; object: string }>((tie) => ({
  text: fc.oneof({ depthSize: "small" }, scalarLit, tie("array"), tie("object")),
  array: fc.tuple(ws, fc.array(fc.tuple(ws, tie("text"), ws), { maxLength: 5 })).map(
    ([w, items]) => "[" + w + items.map((p) => p.join("")).join(",") + "]",
  ),
  object: fc.tuple(ws, fc.array(fc.tuple(ws, keyLit, ws, ws, tie("text"), ws), { maxLength: 5 })).map(
    ([w, entries]) => "{" + w + entries.map(([a, k, b, c, v, d]) => a + k + b + ":" + c + v + d).join(",") + "}",
  ),
}));
const document = fc.tuple(ws, jsonText, ws).map((p) => p.join(""));

/** Objects past the insertion-sort size, keys often astral or above U+E000. */
const bigObject = fc
  .uniqueArray(fc.oneof(keyLit, fc.constantFrom('"\ue000"', '"\ud83d"', '"\ud83d\ude00a"', '"\uffff"', '"\ud7ff"')), { minLength: 10, maxLength: 30 })
  .map((keys) => "{" + keys.map((k, i) => `${k}: ${i}`).join(", ") + "}");

const noise = fc.constantFrom(..."{}[]\",:\\0123456789-+.eEntfNIu \n", "\u0001", "\u001f", "\u007f", "\ud800", "\udc00", "😀", "\ufeff", "\\u", "\\ud83d", "1e", "-0", "]]", "}}");
const mutated = fc
  .tuple(document, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 2 }), noise), { minLength: 1, maxLength: 3 }))
  .map(([text, edits]) =>
    edits.reduce((t, [at, op, s]) => {
      const i = t.length === 0 ? 0 : at % (t.length + 1);
      if (op === 0) return t.slice(0, i) + s + t.slice(i); // insert
      if (op === 1) return t.slice(0, i) + t.slice(i + 1); // delete one unit
      return t.slice(0, i); // truncate
    }, text),
  );

const fixed = [
  "", " ", "\ufeff{}", "[" + "1".repeat(4300) + "]", "[-" + "1".repeat(4301) + "]", "1".repeat(4301) + ".5",
  '"\\ud800\\udc0"', '"\\u', '"\\u00"', '"\\ud800\\', '"\\ud800\\u"', '{"a":1,"a":2,"b":3,"a":4}',
  "[" + "[".repeat(300) + "]".repeat(300) + "]", '"\u0000"', '"\\u0000"', "[1e400, -0.0, 5e-324]",
];

// ---- our verdict, in Python's vocabulary -----------------------------------------------------

function ourDump(f: () => string): DumpVerdict {
  try {
    return { kind: "ok", text: f() };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    if (e.code === "JSON_LONE_SURROGATE") return { kind: "UnicodeEncodeError" };
    return { kind: "ValueError", msg: e.message };
  }
}

function ourVerdict(text: string): TextVerdict {
  let v: PyValue;
  try {
    v = parsePyJson(text);
  } catch (e) {
    if (!(e instanceof IntegrityError)) throw e;
    return e.message.startsWith("Exceeds the limit") ? { kind: "ValueError", msg: e.message } : { kind: "JSONDecodeError", msg: e.message };
  }
  return {
    kind: "ok",
    manifest: ourDump(() => dumpsManifest(v)),
    compact: ourDump(() => dumpsCompact(v)),
    hash: ourDump(() => dumpsHash(v)),
  };
}

/** Python 3.11 writes no value after the NaN message and no position after the int-limit one. */
function comparable(ours: TextVerdict, python: TextVerdict): TextVerdict {
  const fixDump = (d: DumpVerdict | undefined, p: DumpVerdict | undefined): DumpVerdict | undefined =>
    d?.kind === "ValueError" && p?.msg !== undefined && d.msg?.startsWith(p.msg) ? { ...d, msg: p.msg } : d;
  const msg = ours.kind === "ValueError" && python.msg !== undefined && ours.msg?.startsWith(python.msg) ? python.msg : ours.msg;
  const out: TextVerdict = { ...ours, manifest: fixDump(ours.manifest, python.manifest), compact: fixDump(ours.compact, python.compact), hash: fixDump(ours.hash, python.hash) };
  if (msg !== undefined) out.msg = msg;
  for (const k of ["manifest", "compact", "hash", "msg"] as const) if (out[k] === undefined) delete out[k];
  return out;
}

// ---- the run ---------------------------------------------------------------------------------

const texts = [
  ...fc.sample(document, { numRuns: 3000, seed: 20240611 }),
  ...fc.sample(mutated, { numRuns: 2500, seed: 7 }),
  ...fc.sample(bigObject, { numRuns: 300, seed: 8 }),
  ...fixed,
];
const floats = [
  ...fc.sample(fc.double({ noNaN: true, noDefaultInfinity: true }), { numRuns: 3000, seed: 42 }),
  ...fc.sample(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { numRuns: 3000, seed: 43 }).map((bits) => {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, bits);
    return view.getFloat64(0);
  }).filter(Number.isFinite),
];

/** Pairs of values from a small vocabulary, so that Python's `==` is often true. */
const eqAtom = fc.constantFrom("1", "1.0", "true", "0", "-0.0", "false", "NaN", "Infinity", "1e400", '"1"', "null", "9007199254740993", "9007199254740992.0", "2", "[]", "{}");
const { v: eqValue } = fc.letrec<{ v: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    eqAtom,
    fc.array(tie("v"), { maxLength: 2 }).map((xs) => `[${xs.join(",")}]`),
    fc.array(fc.tuple(fc.constantFrom('"a"', '"b"'), tie("v")), { maxLength: 2 }).map((es) => `{${es.map(([k, x]) => `${k}:${x}`).join(",")}}`),
  ),
}));
const pairs = fc.sample(fc.tuple(eqValue, eqValue), { numRuns: 3000, seed: 99 });

let python: PythonAnswer;

beforeAll(() => {
  // toExponential() lexemes round-trip exactly, so Python's float() sees the same double
  // (except for the sign of zero, which it drops).
  const lexeme = (x: number): string => (Object.is(x, -0) ? "-0.0" : x.toExponential());
  const input = JSON.stringify({ texts, floats: floats.map(lexeme), pairs });
  const run = spawnSync("python3", ["-c", PYTHON], { input, maxBuffer: 1 << 30, encoding: "utf8" });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`python3 failed (${run.status}): ${run.stderr}`);
  python = JSON.parse(run.stdout) as PythonAnswer;
});

describe("cross-check against CPython's json module", () => {
  it("runs Python 3.11 (the int-str limit and the messages are 3.11's)", () => {
    expect(python.version).toEqual([3, 11]);
  });

  it(`parses and re-encodes ${texts.length} texts exactly as Python does`, () => {
    const mismatches: { text: string; ours: TextVerdict; python: TextVerdict }[] = [];
    texts.forEach((text, i) => {
      const theirs = python.texts[i] as TextVerdict;
      const ours = comparable(ourVerdict(text), theirs);
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) mismatches.push({ text, ours, python: theirs });
    });
    expect(mismatches.slice(0, 5)).toEqual([]);
    // The sample must exercise both sides of every verdict.
    const kinds = new Set(python.texts.map((t) => `${t.kind}/${t.manifest?.kind ?? ""}`));
    expect([...kinds].sort()).toEqual(["JSONDecodeError/", "ValueError/", "ok/UnicodeEncodeError", "ok/ValueError", "ok/ok"]);
  });

  it(`formats ${floats.length} doubles exactly as repr(float)`, () => {
    const mismatches = floats.map((x, i) => [x, floatRepr(x), python.floats[i]]).filter(([, a, b]) => a !== b);
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it(`decides == on ${pairs.length} pairs of values as Python does`, () => {
    const mismatches = pairs
      .map(([a, b], i) => [a, b, pyEquals(parsePyJson(a), parsePyJson(b)), python.equal[i]])
      .filter(([, , ours, theirs]) => ours !== theirs);
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(python.equal.filter(Boolean).length).toBeGreaterThan(pairs.length / 20);
  });
});
