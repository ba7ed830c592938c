/**
 * Set A of the quilt3 vectors (A01–A07) and the quilt-rs fixtures, read back through our manifest
 * reader: the same top hash, the same pre-image parts, and the same bytes when re-dumped.
 */
import { readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  bytesSource,
  entryHashPart,
  headerHashPart,
  rewriteManifest,
  topHashOf,
  withCanonicalManifest,
} from "../src/manifest/index.js";
import { loadQuilt3Vectors, QUILT3_VECTORS, QUILT_RS_VECTORS } from "./helpers/shared.js";

const vectors = loadQuilt3Vectors();
const setA = vectors.cases.filter((c) => /^A0[1-7]-/.test(c.id));

async function redump(bytes: Buffer): Promise<Buffer> {
  let chunks: Buffer[] = [];
  await rewriteManifest(bytesSource(bytes), () => {
    chunks = [];
    return Promise.resolve((chunk: Buffer) => {
      chunks.push(chunk);
      return Promise.resolve();
    });
  });
  return Buffer.concat(chunks);
}

describe("quilt3 set A manifests", () => {
  it("covers A01 to A07", () => {
    expect(setA.map((c) => c.id.slice(0, 3))).toEqual(["A01", "A02", "A03", "A04", "A05", "A06", "A07"]);
  });

  for (const vectorCase of setA) {
    const manifests = vectorCase.registry_writes.filter((w) => w.kind === "manifest");
    const files = [vectorCase.dump_file, ...manifests.map((m) => m.file ?? "")];

    it(`${vectorCase.id}: the dump reads back with quilt3's top hash and pre-image`, async () => {
      const bytes = readFileSync(resolve(QUILT3_VECTORS, vectorCase.dump_file));
      expect(await topHashOf(bytesSource(bytes))).toBe(vectorCase.top_hash);
      const parts = await withCanonicalManifest(bytesSource(bytes), async ({ header, entries }) => {
        const out = [headerHashPart(header)];
        for await (const entry of entries) out.push(entryHashPart(entry));
        return out;
      });
      expect(parts).toEqual(vectorCase.top_hash_preimage_parts);
    });

    for (const file of files) {
      it(`${vectorCase.id}: ${file} re-dumps to the same bytes`, async () => {
        const bytes = readFileSync(resolve(QUILT3_VECTORS, file));
        const out = await redump(bytes);
        expect(out.toString("utf8")).toBe(bytes.toString("utf8"));
        expect(out.equals(bytes)).toBe(true);
      });
    }

    for (const manifest of manifests) {
      it(`${vectorCase.id}: registry manifest ${manifest.file ?? ""} is named by its top hash`, async () => {
        const bytes = readFileSync(resolve(QUILT3_VECTORS, manifest.file ?? ""));
        const name = manifest.path.split("/").pop() ?? "";
        expect(await topHashOf(bytesSource(bytes))).toBe(name);
      });
    }
  }
});

describe("quilt-rs fixtures", () => {
  const packages = resolve(QUILT_RS_VECTORS, "packages");
  const equivalent = resolve(QUILT_RS_VECTORS, "equivalent-packages");

  for (const file of readdirSync(packages).filter((f) => f.endsWith(".jsonl"))) {
    const expected = file === "checksummed.jsonl"
      ? "87c4c6caa2eaeb346ea8c3a5c3650a54b9ae93ed5229db67eac7449fc198f0c5"
      : file.slice(0, 64);
    it(`packages/${file} hashes to ${expected.slice(0, 12)}`, async () => {
      expect(await topHashOf(bytesSource(readFileSync(resolve(packages, file))))).toBe(expected);
    });
  }

  for (const file of readdirSync(equivalent).filter((f) => f.endsWith(".jsonl"))) {
    const expected = file.slice(0, 64);
    const bytes = readFileSync(resolve(equivalent, file));
    if (file.includes("missing-meta")) {
      it(`equivalent-packages/${file} is refused, as quilt3 refuses it`, async () => {
        await expect(topHashOf(bytesSource(bytes))).rejects.toMatchObject({
          code: "MANIFEST_MISSING_FIELD",
          message: expect.stringContaining('"meta"') as unknown,
        });
      });
    } else {
      it(`equivalent-packages/${file} hashes to ${expected.slice(0, 12)}`, async () => {
        expect(await topHashOf(bytesSource(bytes))).toBe(expected);
      });
    }
  }
});
