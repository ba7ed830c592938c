import { writeFile, mkdtemp, lstat, open, rename } from "node:fs/promises";
import { join } from "node:path";
import { it } from "vitest";
import { readLocalEntry } from "./index.js";
import { writeVerified } from "./write-file.js";
import { entryFor } from "./test-fixtures.js";
it("timing", async () => {
  const src = await mkdtemp("/tmp/qk/s");
  await writeFile(join(src, "x"), "x");
  const e = await entryFor("x", join(src, "x"));
  const dest = await mkdtemp("/tmp/qk/d");
  const ac = new AbortController();
  let t = performance.now();
  for (let i = 0; i < 200; i++) await writeVerified(dest, "f" + i, e, "sha2-256-chunked", { readEntry: readLocalEntry, signal: ac.signal, fsync: false });
  process.stderr.write(`writeVerified x200 ${(performance.now() - t).toFixed(0)}\n`);
  t = performance.now();
  for (let i = 0; i < 200; i++) { for await (const c of readLocalEntry(e, ac.signal)) void c; }
  process.stderr.write(`read x200 ${(performance.now() - t).toFixed(0)}\n`);
  t = performance.now();
  for (let i = 0; i < 200; i++) { for await (const c of readLocalEntry(e)) void c; }
  process.stderr.write(`read nosignal x200 ${(performance.now() - t).toFixed(0)}\n`);
  t = performance.now();
  for (let i = 0; i < 200; i++) { const fh = await open(join(dest, "g" + i), "wx"); await fh.write(Buffer.from("x")); await fh.close(); await rename(join(dest, "g" + i), join(dest, "h" + i)); await lstat(join(dest, "h" + i)); }
  process.stderr.write(`raw x200 ${(performance.now() - t).toFixed(0)}\n`);
});
