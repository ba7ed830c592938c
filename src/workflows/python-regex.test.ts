/**
 * The translation against the oracle: every (pattern, subject) pair goes to one python3 process,
 * whose `re.search` verdict must equal our RegExp's; patterns Python refuses must be refused here.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { PythonRegexError, pythonRegExp, translatePythonRegex } from "./python-regex.js";

const SUBJECTS = [
  "user/data",
  "user/data\n",
  "instruments/production",
  "instruments/staging",
  "employee1/instruments",
  "Üser/dätä",
  "ユーザー/データ",
  "a_b-c/d_e",
  "test/a1",
  "test/1a",
  "x/y",
  "a.b/c",
  "٣/٤",
  "AB/cd",
  "ab/CD",
  "a{1}/b",
  "a}/b",
  "a]/b",
  "",
  "\u2028",
  "tab\t/x",
];

const PATTERNS = [
  "^instruments/(production|staging)$",
  "^(employee1|employee2)/instruments$",
  "^[\\w-]+/[\\w-]+$",
  "^\\w+/\\w+\\Z",
  "\\Aab",
  "^test/",
  "/\\d",
  "\\d$",
  "\\bdata\\b",
  "\\Bat",
  "a.b",
  "^.*$",
  "user/data$",
  "(?i)^ab/cd$",
  "(?P<ns>\\w+)/(?P=ns)",
  "(\\w)/\\1",
  "^[^/]+/[a-z]{1,3}$",
  "a{1}",
  "a{,1}/",
  "a{1,}",
  "x{}",
  "a{1",
  "{1}a",
  "a}",
  "a]",
  "[]a]",
  "[^]a]/b",
  "[a-]/",
  "[-a]/",
  "\\.",
  "a\\-b",
  "[\\d]",
  "[\\s]",
  "\\s",
  "\\S+/\\S+",
  "\\W",
  "[\\x41-\\x5a]",
  "\\u00dc",
  "\\U0001F600|x",
  "\\101",
  "\\0",
  "[\\101]",
  "(?#comment)^user",
  "(?=user)u",
  "(?!user)\\w+/",
  "(?<=/)data",
  "(?<!x)/y",
  "a*?/",
  "(?s).",
  "(?m)^data$",
  "(?x) a",
  "(?i:ab)",
  "a*+",
  "(?>a)",
  "\\q",
  "[\\W]",
  "(a",
  "a)",
  "\\2(a)",
  "(a\\1)",
  "[b-a]",
  "*a",
  "\\N{LATIN SMALL LETTER A}",
];

const PYTHON = String.raw`
import json, re, sys
data = json.load(sys.stdin)
out = []
for p in data["patterns"]:
    try:
        rx = re.compile(p)
    except (re.error, OverflowError) as e:
        out.append({"error": str(e)})
        continue
    out.append({"matches": [rx.search(s) is not None for s in data["subjects"]]})
print(json.dumps(out))
`;

function pythonVerdicts(): ({ error: string } | { matches: boolean[] })[] | undefined {
  const run = spawnSync("python3", ["-c", PYTHON], { input: JSON.stringify({ patterns: PATTERNS, subjects: SUBJECTS }), encoding: "utf8" });
  if (run.status !== 0) return undefined;
  return JSON.parse(run.stdout) as ({ error: string } | { matches: boolean[] })[];
}

/** Patterns Python accepts that we refuse on purpose (no JS equivalent in Node 20). */
const UNSUPPORTED = new Set(["(?x) a", "(?i:ab)", "a*+", "(?>a)", "[\\W]", "\\N{LATIN SMALL LETTER A}"]);

describe("Python regular expressions in JS", () => {
  const verdicts = pythonVerdicts();

  it.runIf(verdicts !== undefined)("agree with python3's re.search on every pattern and subject", () => {
    PATTERNS.forEach((pattern, i) => {
      const verdict = verdicts?.[i];
      if (verdict === undefined) throw new Error("python gave no verdict");
      if ("error" in verdict || UNSUPPORTED.has(pattern)) {
        expect(() => pythonRegExp(pattern), pattern).toThrow(PythonRegexError);
        return;
      }
      const rx = pythonRegExp(pattern);
      expect(SUBJECTS.map((s) => rx.test(s)), pattern).toEqual(verdict.matches);
    });
  });

  it("keeps plain patterns readable and adds only the flags asked for", () => {
    expect(translatePythonRegex("^abc/d").source).toBe("^abc\\u{2f}d");
    expect(translatePythonRegex("(?i)x").flags).toBe("iu");
    expect(translatePythonRegex("x").flags).toBe("u");
  });

  it("says why a pattern is refused", () => {
    expect(() => pythonRegExp("(?i:ab)")).toThrow(/global flags at the start/);
    expect(() => pythonRegExp("\\q")).toThrow(/bad escape \\q/);
    expect(() => pythonRegExp("(a")).toThrow(/missing \)/);
  });
});
