export { compileFilter, type EntryFilter } from "./expr.js";
export { compileGlob, globMatcher } from "./glob.js";
