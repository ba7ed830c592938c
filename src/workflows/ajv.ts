/**
 * JSON Schema draft-07 with ajv, set up to judge as quilt3's `jsonschema.Draft7Validator` does:
 * every error (`allErrors`), `format` not asserted (quilt3 passes no format checker), unknown
 * keywords ignored (`strict: false`), string lengths in code points, and `pattern` /
 * `patternProperties` read as Python regular expressions with `re.search` semantics.
 */
import { createRequire } from "node:module";
import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from "ajv";
import { PythonRegexError, pythonRegExp } from "./python-regex.js";

/** ajv's pluggable regex engine: Python patterns, translated (ajv always asks for the `u` flag). */
const pythonEngine = Object.assign((pattern: string) => pythonRegExp(pattern), { code: "pythonRegExp" });

/**
 * ajv, loaded on first use: it costs ~0.1 s of start-up, and most commands (ls, show, cat)
 * never check a workflow. It is CommonJS, so a synchronous require keeps compileSchema synchronous.
 */
let ajvClass: typeof AjvClass | undefined;
function loadAjv(): typeof AjvClass {
  ajvClass ??= (createRequire(import.meta.url)("ajv") as { Ajv: typeof AjvClass }).Ajv;
  return ajvClass;
}

/** A fresh ajv per schema: schemas' `$id`s must not collide in one instance. */
export function compileSchema(schema: unknown): ValidateFunction {
  const Ajv = loadAjv();
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    validateFormats: false,
    code: { regExp: pythonEngine },
  });
  return ajv.compile(schema as object);
}

/** Why a schema did not compile: ajv's message, or the regex that is not supported. */
export function compileProblem(error: unknown): string {
  if (error instanceof PythonRegexError) return `a regular expression is not supported: ${error.message}`;
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^schema is invalid: /, "");
}

/** One ajv error as a line: where in the value, what is wrong, and which keyword said so. */
export interface SchemaFailure {
  readonly instancePath: string;
  readonly schemaPath: string;
  readonly message: string;
}

export function failuresOf(validate: ValidateFunction): SchemaFailure[] {
  // A failed `contains` is one problem: ajv also lists why each item missed it, which is noise.
  const errors = (validate.errors ?? []).filter((error) => !error.schemaPath.includes("/contains/"));
  return errors.map((error) => ({
    instancePath: error.instancePath,
    schemaPath: error.schemaPath,
    message: describeError(error),
  }));
}

function describeError(error: ErrorObject): string {
  const message = error.message ?? `fails ${error.keyword}`;
  if (error.keyword === "additionalProperties") {
    return `${message} ${JSON.stringify((error.params as { additionalProperty: string }).additionalProperty)}`;
  }
  if (error.keyword === "enum") return `${message}: ${JSON.stringify((error.params as { allowedValues: unknown }).allowedValues)}`;
  if (error.keyword === "const") return `${message}: ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
  return message;
}
