/** Collects violations in the order found, keeping at most `MAX_VIOLATIONS` and counting the rest. */
import { MAX_VIOLATIONS, type WorkflowViolation } from "./errors.js";
import type { SchemaFailure } from "./ajv.js";

export class ViolationList {
  readonly kept: WorkflowViolation[] = [];
  omitted = 0;

  add(violation: WorkflowViolation): void {
    if (this.kept.length < MAX_VIOLATIONS) this.kept.push(violation);
    else this.omitted += 1;
  }

  get size(): number {
    return this.kept.length + this.omitted;
  }
}

/** A schema failure as a violation line: quilt3's lead-in, where, what, and the schema keyword. */
export function schemaViolation(
  rule: "metadata" | "entries",
  failure: SchemaFailure,
  logicalKey?: string,
): WorkflowViolation {
  const lead = rule === "metadata" ? "Metadata failed validation" : "Package entries failed validation";
  const where = failure.instancePath === "" ? "(top level)" : failure.instancePath;
  const entry = logicalKey === undefined ? "" : ` entry ${JSON.stringify(logicalKey)}`;
  return {
    rule,
    message: `${lead}:${entry} ${where} ${failure.message} (schema ${failure.schemaPath})`,
    instancePath: failure.instancePath,
    schemaPath: failure.schemaPath,
    ...(logicalKey === undefined ? {} : { logicalKey }),
  };
}
