import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SHA256 } from "../hash/index.js";
import { encodeRecord, recordKey } from "./format.js";
import { provenUnchanged, StatCacheRun, type CacheIdentity, type StatCacheOptions, type UnchangedResult } from "./index.js";

let base = "";
let n = 0;
beforeAll(async () => void (base = await mkdtemp(join(tmpdir(), "quiltkit-unchanged-"))));
afterAll(() => rm(base, { recursive: true, force: true }));

/** Keys a plain slice would get wrong: quotes, backslashes, control characters, non-ASCII. */
const KEYS = ["a.txt", 'q"uote.txt', "back\\slash.txt", "tab\there.txt", "é/ü.txt", "z/plain.bin"];
/** A clock past the racy margin of files written just now. */
const later = (): number => Date.now() + 10_000;
/** Why the folder was not proven unchanged (`""` when it was). */
const reasonOf = (r: UnchangedResult): string => (r.unchanged ? "" : r.reason);

/** A folder with `KEYS`, recorded by one run of its stat cache; the cache's identity and options. */
async function recorded(): Promise<{ dir: string; identity: CacheIdentity; opts: StatCacheOptions }> {
  const dir = join(base, `f${n++}`);
  for (const key of KEYS) {
    await mkdir(join(dir, key, ".."), { recursive: true });
    await writeFile(join(dir, key), `content of ${key}`);
  }
  const opts = { file: join(base, `f${n - 1}.cache`) };
  // As an install records: its header says so, and a reader judges the times by its own clock.
  const run = await StatCacheRun.open(dir, { ...opts, now: later, ownWrites: true });
  if (run === undefined) throw new Error("no cache");
  // Tree-walk order, as a walk would visit them.
  for (const key of [...KEYS].sort()) {
    const visit = await run.visitFile(join(dir, key));
    visit?.settle({ type: SHA256, value: `H(${key})` });
  }
  const stats = await run.commit();
  expect(stats).toMatchObject({ recorded: KEYS.length, written: true });
  if (stats.checksum === undefined) throw new Error("no checksum");
  return { dir, identity: { records: stats.recorded, checksum: stats.checksum }, opts };
}

describe("provenUnchanged", () => {
  it("proves an untouched folder, whatever its keys hold", async () => {
    const { dir, identity, opts } = await recorded();
    const proof = await provenUnchanged(dir, identity, { ...opts, now: later });
    expect(proof).toMatchObject({ unchanged: true, files: KEYS.length, file: opts.file });
    if (proof.unchanged) expect(proof.bytes).toBe(KEYS.reduce((sum, k) => sum + Buffer.byteLength(`content of ${k}`), 0));
  });

  it("names the file that changed, went, or became a folder", async () => {
    for (const [key, change] of [
      ['q"uote.txt', (p: string) => writeFile(p, "other")],
      ["back\\slash.txt", (p: string) => rm(p)],
      ["é/ü.txt", async (p: string) => (await rm(p), await mkdir(p))],
      // Times alone: same bytes, but nothing short of reading them could tell.
      ["z/plain.bin", (p: string) => utimes(p, new Date(2001, 1, 1), new Date(2001, 1, 1))],
    ] as const) {
      const { dir, identity, opts } = await recorded();
      await change(join(dir, key));
      const proof = await provenUnchanged(dir, identity, { ...opts, now: later });
      expect(proof.unchanged).toBe(false);
      if (!proof.unchanged) expect(proof.reason).toContain(key);
    }
  });

  it("trusts nothing racy, and only the very cache file the receipt names", async () => {
    const { dir, identity, opts } = await recorded();
    const racy = await provenUnchanged(dir, identity, opts); // the files were written just now
    expect(reasonOf(racy)).toContain("too recently");
    expect(reasonOf(await provenUnchanged(dir, { ...identity, checksum: "0".repeat(64) }, { ...opts, now: later }))).toContain("changed since");
    expect(reasonOf(await provenUnchanged(dir, { ...identity, records: KEYS.length - 1 }, { ...opts, now: later }))).toContain("changed since");
    expect(reasonOf(await provenUnchanged(dir, identity, { file: join(base, "none.cache"), now: later }))).toContain("missing");
    expect(reasonOf(await provenUnchanged(join(base, "no-such-folder"), identity, { ...opts, now: later }))).toContain("does not exist");
  });

  it("reads a record's key off its line exactly as written, escapes or not", () => {
    const stat = { size: 3, mtimeNs: 10n ** 18n, ctimeNs: 10n ** 18n + 1n, ino: 2n ** 60n, dev: 64768n };
    for (const key of KEYS) {
      const line = encodeRecord({ key, stat, hash: { type: SHA256, value: "abc" } });
      expect(line).toBe(JSON.stringify([key, 3, String(stat.mtimeNs), String(stat.ctimeNs), String(stat.ino), String(stat.dev), SHA256, "abc"]));
      expect(recordKey(line)).toBe(key);
    }
  });
});
