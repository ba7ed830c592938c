/**
 * quilt3 workflows (spec §6.1): a registry's `.quilt/workflows/config.yml` names JSON Schemas for
 * package and entry metadata, required messages and name patterns. A push is validated against
 * the chosen workflow before anything moves, and a valid one records `{"id", "config",
 * "schemas"}` in the header's `workflow` key exactly as quilt3 does, so top hashes agree.
 */
import type { PyObject } from "../json/index.js";
import { validateWorkflow, type WorkflowRequest } from "./validate.js";

export { validateWorkflow, type WorkflowRequest } from "./validate.js";
export type { EntryToValidate } from "./entries.js";
export { DEFAULT_MAX_BUFFERED_ENTRIES } from "./entries.js";
export { CONFIG_KEY } from "./config.js";
export {
  MAX_VIOLATIONS,
  WorkflowChoiceError,
  WorkflowConfigError,
  WorkflowValidationError,
  type WorkflowViolation,
} from "./errors.js";
export { pythonRegExp, translatePythonRegex, PythonRegexError } from "./python-regex.js";

/** Validate against the workflow without touching the header; gives what `applyWorkflow` would store. */
export function checkWorkflow(header: PyObject, request: WorkflowRequest): Promise<PyObject | undefined> {
  return validateWorkflow(request, header.has("user_meta") ? header.get("user_meta") : undefined);
}

/**
 * Validate, then set the header's `workflow` key as quilt3's `_workflow` setter does: the value
 * (appended if new, kept in place otherwise), or no key at all when no workflow applies.
 */
export async function applyWorkflow(header: PyObject, request: WorkflowRequest): Promise<void> {
  const value = await checkWorkflow(header, request);
  if (value === undefined) header.delete("workflow");
  else header.set("workflow", value);
}
