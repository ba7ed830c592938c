/**
 * Set A rebuilt from its inputs with our PackageBuilder, replaying quilt3's own operations: the
 * same manifest bytes and the same top hash, at every build of every case (A01–A07).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parsePyJson } from "../src/json/index.js";
import { PackageBuilder, type BuiltManifest } from "../src/package/index.js";
import { materializeSetAInputs } from "./helpers/inputs.js";
import { loadQuilt3Vectors, QUILT3_VECTORS, type VectorOp } from "./helpers/shared.js";

const vectors = loadQuilt3Vectors();
const setA = vectors.cases.filter((c) => /^A0[1-7]-/.test(c.id));
let inputs = "";

beforeAll(() => {
  inputs = materializeSetAInputs();
});

const str = (op: VectorOp, key: string): string => {
  const value = op[key];
  if (typeof value !== "string") throw new Error(`op ${op.op} lacks ${key}`);
  return value;
};
const meta = (op: VectorOp) => (typeof op.meta_json === "string" ? parsePyJson(op.meta_json) : undefined);

/** Replay one case's operations; returns every build's result in order. */
async function replay(ops: VectorOp[], builder: PackageBuilder): Promise<BuiltManifest[]> {
  const builds: BuiltManifest[] = [];
  for (const op of ops) {
    switch (op.op) {
      case "new":
      case "clock":
      case "verify":
      case "list_versions":
      case "list_packages":
        break; // registry-level ops: checked by the registry tests
      case "set":
        await builder.set(str(op, "logical_key"), resolve(inputs, str(op, "path")), meta(op));
        break;
      case "set_entry":
        await builder.setEntry(str(op, "logical_key"), {
          physicalKey: str(op, "physical_key"),
          size: op.size as number,
          hash: op.hash as { type: string; value: string },
          meta: meta(op),
        });
        break;
      case "set_meta":
        await builder.setMeta(meta(op));
        break;
      case "set_dir":
        await builder.setDir(str(op, "lkey"), resolve(inputs, str(op, "path")), {
          ...(op.meta_json === undefined ? {} : { meta: meta(op) }),
          ...(op.update_policy === "existing" ? { updatePolicy: "existing" as const } : {}),
        });
        break;
      case "entry_set_meta":
        await builder.setEntryMeta(str(op, "logical_key"), meta(op) ?? null);
        break;
      case "dir_set_meta":
        builder.setDirMeta(str(op, "logical_key"), meta(op) ?? null);
        break;
      case "delete":
        await builder.delete(str(op, "logical_key"));
        break;
      case "build":
        builds.push(await builder.build({ message: typeof op.message === "string" ? op.message : null }));
        break;
      default:
        throw new Error(`unhandled op ${op.op}`);
    }
  }
  return builds;
}

describe("set A rebuilt from its inputs", () => {
  for (const vectorCase of setA) {
    it(`${vectorCase.id}: same manifest bytes and top hash as quilt3`, async () => {
      const builder = new PackageBuilder();
      try {
        const builds = await replay(vectorCase.ops, builder);
        const expectedHashes = vectorCase.ops
          .map((op, i) => (op.op === "build" ? (vectorCase.op_results[i] as { top_hash: string }).top_hash : undefined))
          .filter((h) => h !== undefined);
        expect(builds.map((b) => b.topHash)).toEqual(expectedHashes);
        const last = builds[builds.length - 1];
        expect(last?.topHash).toBe(vectorCase.top_hash);
        const expected = readFileSync(resolve(QUILT3_VECTORS, vectorCase.dump_file), "utf8");
        expect(readFileSync(last?.path ?? "", "utf8")).toBe(expected);
        for (const [i, build] of builds.entries()) {
          const written = vectorCase.registry_writes.find((w) => w.kind === "manifest" && w.path.endsWith(build.topHash));
          expect(written, `manifest of build ${i}`).toBeDefined();
          expect(readFileSync(build.path, "utf8")).toBe(readFileSync(resolve(QUILT3_VECTORS, written?.file ?? ""), "utf8"));
        }
      } finally {
        await builder.dispose();
      }
    });
  }
});
