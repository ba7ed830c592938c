/**
 * A recursive-descent parser for filter expressions, lowest precedence first:
 *   or      := and ( ("or" | "||") and )*
 *   and     := not ( ("and" | "&&") not )*
 *   not     := ("not" | "!") not | compare
 *   compare := primary ( ("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") primary )?
 *   primary := literal | list | path | call | "(" or ")"
 * Comparisons do not chain (`a < b < c` is an error), which keeps their meaning unambiguous.
 */
import { compileGlob } from "./glob.js";
import { filterError } from "./errors.js";
import { tokenize, type Token } from "./tokens.js";

export type Literal = null | boolean | number | string;
export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in";
export type PathRoot = "meta" | "key" | "size";
export type Node =
  | { readonly kind: "literal"; readonly value: Literal }
  | { readonly kind: "list"; readonly items: readonly Node[] }
  | { readonly kind: "path"; readonly root: PathRoot; readonly segments: readonly (string | number)[] }
  | { readonly kind: "not"; readonly operand: Node }
  | { readonly kind: "and" | "or"; readonly left: Node; readonly right: Node }
  | { readonly kind: "compare"; readonly op: CompareOp; readonly left: Node; readonly right: Node }
  | { readonly kind: "call"; readonly name: "startswith" | "endswith"; readonly args: readonly [Node, Node] }
  | { readonly kind: "glob"; readonly subject: Node; readonly regexp: RegExp };

// A Map, not an object literal, so `constructor` or `__proto__` is not taken for a name.
const ROOTS = new Map<string, PathRoot>([["meta", "meta"], ["key", "key"], ["logical_key", "key"], ["size", "size"]]);
const COMPARE_OPS = new Set(["==", "!=", "<", "<=", ">", ">="]);
const FUNCTIONS = new Set(["startswith", "endswith", "glob"]);

export function parseFilter(source: string): Node {
  return new Parser(source).parseAll();
}

class Parser {
  private readonly tokens: Token[];
  private index = 0;

  constructor(private readonly source: string) {
    this.tokens = tokenize(source);
  }

  parseAll(): Node {
    if (this.peek().kind === "end") throw this.fail("an empty filter");
    const node = this.parseOr();
    if (this.peek().kind !== "end") throw this.fail(`expected the end, found ${describe(this.peek())}`);
    return node;
  }

  private parseOr(): Node {
    let left = this.parseAnd();
    while (this.accept("or", "||")) left = { kind: "or", left, right: this.parseAnd() };
    return left;
  }

  private parseAnd(): Node {
    let left = this.parseNot();
    while (this.accept("and", "&&")) left = { kind: "and", left, right: this.parseNot() };
    return left;
  }

  private parseNot(): Node {
    if (this.accept("not", "!")) return { kind: "not", operand: this.parseNot() };
    return this.parseCompare();
  }

  private parseCompare(): Node {
    const left = this.parsePrimary();
    const op = this.compareOp();
    if (op === undefined) return left;
    const node: Node = { kind: "compare", op, left, right: this.parsePrimary() };
    if (this.compareOp(false) !== undefined) throw this.fail("comparisons do not chain; join them with `and`");
    return node;
  }

  /** The comparison operator at the cursor, consumed unless `consume` is false. */
  private compareOp(consume = true): CompareOp | undefined {
    const t = this.peek();
    const next = this.tokens[this.index + 1];
    let op: CompareOp | undefined;
    let length = 1;
    if (t.kind === "op" && COMPARE_OPS.has(t.text)) op = t.text as CompareOp;
    else if (t.kind === "ident" && t.text === "in") op = "in";
    else if (t.kind === "ident" && t.text === "not" && next?.kind === "ident" && next.text === "in") {
      op = "not in";
      length = 2;
    }
    if (op !== undefined && consume) this.index += length;
    return op;
  }

  private parsePrimary(): Node {
    const t = this.next();
    if (t.kind === "string" || t.kind === "number") return { kind: "literal", value: t.value };
    if (t.kind === "op" && t.text === "-" && this.peek().kind === "number") return { kind: "literal", value: -Number(this.next().text) };
    if (t.kind === "op" && t.text === "(") return this.finishParens();
    if (t.kind === "op" && t.text === "[") return { kind: "list", items: this.parseItems("]") };
    if (t.kind === "ident") return this.parseName(t);
    throw this.fail(`expected a value, found ${describe(t)}`, t.pos);
  }

  private finishParens(): Node {
    const inner = this.parseOr();
    this.expect(")");
    return inner;
  }

  private parseName(t: Token & { kind: "ident" }): Node {
    if (t.text === "true" || t.text === "false") return { kind: "literal", value: t.text === "true" };
    if (t.text === "null" || t.text === "None") return { kind: "literal", value: null };
    if (FUNCTIONS.has(t.text) && this.accept("(")) return this.parseCall(t);
    const root = ROOTS.get(t.text);
    if (root === undefined) throw this.fail(`unknown name ${JSON.stringify(t.text)} (use meta.${t.text} for metadata)`, t.pos);
    return { kind: "path", root, segments: this.parseSegments() };
  }

  /** `.name` and `["key"]` / `[0]` after a path. */
  private parseSegments(): (string | number)[] {
    const segments: (string | number)[] = [];
    for (;;) {
      if (this.accept(".")) {
        const name = this.next();
        if (name.kind !== "ident") throw this.fail(`expected a name after \`.\`, found ${describe(name)}`, name.pos);
        segments.push(name.text);
      } else if (this.accept("[")) {
        const index = this.next();
        if (index.kind !== "string" && index.kind !== "number") throw this.fail(`expected a quoted key or a number in \`[]\`, found ${describe(index)}`, index.pos);
        segments.push(index.value);
        this.expect("]");
      } else return segments;
    }
  }

  private parseCall(t: Token & { kind: "ident" }): Node {
    const args = this.parseItems(")");
    const [first, second] = args;
    if (args.length !== 2 || first === undefined || second === undefined) throw this.fail(`${t.text}() takes 2 arguments, not ${args.length}`, t.pos);
    if (t.text !== "glob") return { kind: "call", name: t.text as "startswith" | "endswith", args: [first, second] };
    if (second.kind !== "literal" || typeof second.value !== "string") throw this.fail("glob()'s pattern must be a quoted string", t.pos);
    try {
      return { kind: "glob", subject: first, regexp: compileGlob(second.value) };
    } catch (e) {
      throw this.fail(`bad glob pattern ${JSON.stringify(second.value)}: ${(e as Error).message}`, t.pos);
    }
  }

  /** Comma-separated expressions up to `close` (a trailing comma is fine). */
  private parseItems(close: string): Node[] {
    const items: Node[] = [];
    while (!this.accept(close)) {
      items.push(this.parseOr());
      if (!this.accept(",")) {
        this.expect(close);
        break;
      }
    }
    return items;
  }

  private peek(): Token {
    // The token list always ends with an `end` token, which is never consumed past.
    return this.tokens[this.index] ?? { kind: "end", text: "", pos: this.source.length };
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== "end") this.index++;
    return t;
  }

  /** Consume the token if it is one of `texts` (operators, or keywords given as identifiers). */
  private accept(...texts: string[]): boolean {
    const t = this.peek();
    if ((t.kind === "op" || t.kind === "ident") && texts.includes(t.text)) {
      this.index++;
      return true;
    }
    return false;
  }

  private expect(text: string): void {
    if (!this.accept(text)) throw this.fail(`expected \`${text}\`, found ${describe(this.peek())}`);
  }

  private fail(what: string, pos = this.peek().pos): Error {
    return filterError(this.source, pos, what);
  }
}

function describe(t: Token): string {
  return t.kind === "end" ? "the end" : `\`${t.text}\``;
}
