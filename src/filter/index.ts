export { compileFilter, type EntryFilter } from "./expr.js";
export { compileGlob, globMatcher } from "./glob.js";
export { entrySelector } from "./select.js";
