/**
 * Python-exact JSON: values with Python's meaning (int vs float, big ints, insertion-ordered
 * objects) and the two encodings quilt3 uses (spec §1.1 manifest line, §2 top hash).
 *
 * Representation (`PyValue`):
 * - `null`, `boolean`, `string` as in JS;
 * - `bigint`  = a Python int (any JSON number without `.`, `e`, `E`), exact at any size;
 * - `number`  = a Python float (a JSON number with `.`, `e` or `E`), printed with Python's repr;
 * - arrays;
 * - `Map<string, PyValue>` = a Python dict: insertion order kept for every key, including
 *   integer-like keys that a JS object would reorder.
 */
export type PyValue = null | boolean | string | bigint | number | PyValue[] | PyObject;
export type PyObject = Map<string, PyValue>;

export { hasEscapeOrControl, parsePyJson } from "./parse.js";
export { dumpsManifest, dumpsHash, dumpsCompact } from "./encode.js";
export { floatRepr } from "./float-repr.js";
export { fromPlain, toPlain, pyEquals } from "./convert.js";
export { ByteOut } from "./byte-out.js";
export { hashBytesOfPlain, isPlainByte } from "./hash-bytes.js";
