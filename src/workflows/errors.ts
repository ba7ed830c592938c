/**
 * Workflow failures, all usage errors (exit 2): the push is refused for what it is or where it
 * goes, never for a fault of the storage (those stay `StorageError`s).
 */
import { UsageError, type QuiltErrorOptions } from "../errors/index.js";

/** One broken rule of a workflow; `WorkflowValidationError.violations` lists them. */
export interface WorkflowViolation {
  /** Which rule: quilt3 checks them in this order. */
  readonly rule: "message" | "name" | "metadata" | "entries";
  /** quilt3's wording of the rule that broke, then what broke it. */
  readonly message: string;
  /** JSON Pointer into the value that failed (`/author`, `/3/meta/kind`); schema rules only. */
  readonly instancePath?: string;
  /** Where in the schema the failing keyword is (`#/properties/author/type`); schema rules only. */
  readonly schemaPath?: string;
  /** The entry that failed; `entries` rule only. */
  readonly logicalKey?: string;
}

/** How many violations an error keeps and lists; the rest are only counted. */
export const MAX_VIOLATIONS = 1000;

/**
 * The package breaks its workflow. Unlike quilt3, which stops at the first problem, every
 * violation is listed (up to `MAX_VIOLATIONS`), one per line, in quilt3's order of checks.
 */
export class WorkflowValidationError extends UsageError {

  constructor(
    readonly workflow: string | null,
    readonly violations: readonly WorkflowViolation[],
    /** Violations found past `MAX_VIOLATIONS`, not kept. */
    readonly omitted = 0,
  ) {
    super("WORKFLOW_INVALID", describe(workflow, violations, omitted), {
      hint: "Fix the package (or the commit message or name) to satisfy the workflow, or push with another workflow (--workflow ID).",
    });
  }
}

function describe(workflow: string | null, violations: readonly WorkflowViolation[], omitted: number): string {
  const total = violations.length + omitted;
  const head = `Package failed validation by workflow ${workflow === null ? "None" : `'${workflow}'`} (${total} problem${total === 1 ? "" : "s"}):`;
  const more = omitted > 0 ? [`  ... and ${omitted} more`] : [];
  return [head, ...violations.map((v) => `  - ${v.message}`), ...more].join("\n");
}

/** The workflows config, or a schema it names, is missing, unreadable or malformed (quilt3 `ConfigurationError`). */
export class WorkflowConfigError extends UsageError {
  constructor(message: string, options: QuiltErrorOptions = {}) {
    super("WORKFLOW_CONFIG_INVALID", message, {
      hint: options.hint ?? "Fix the registry's .quilt/workflows/config.yml or the schema it names.",
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
  }
}

/**
 * The workflow asked for cannot run: none given where one is required, an id the config does not
 * have, or a workflow named for a registry without a workflows config.
 */
export class WorkflowChoiceError extends UsageError {
  constructor(code: "WORKFLOW_REQUIRED" | "WORKFLOW_NOT_FOUND" | "WORKFLOW_CONFIG_MISSING", message: string, hint: string) {
    super(code, message, { hint });
  }
}
