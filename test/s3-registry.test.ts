/**
 * The registry's `latest` on S3, where no lock spans processes: the pointer is moved with a
 * conditional write on the ETag read before the push, so a push that lost a race between its
 * check and its write fails instead of silently replacing the winner, and no revision is lost.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, describe, expect, inject, it } from "vitest";
import { ConflictError } from "../src/errors/index.js";
import { Registry } from "../src/registry/registry.js";
import { Remotes, type Storage, type WriteOptions } from "../src/storage/index.js";
import { clientOptionsOf } from "./helpers/s3-server.js";
import { rejectionOf } from "./helpers/expect.js";

const s3 = inject("s3");
const remotes = new Remotes(clientOptionsOf(s3));
afterAll(() => remotes.close());

const run = randomBytes(4).toString("hex");
let n = 0;
const freshName = (): string => `race-${run}/p${n++}`;
const fakeHash = (text: string): string => createHash("sha256").update(text).digest("hex");
let clock = 1_800_000_000;
const now = (): number => clock++;

/** A storage that runs `before` once, just before the first write of a `latest` pointer. */
function interceptLatest(storage: Storage, before: (write: () => Promise<unknown>) => Promise<void>): Storage {
  let done = false;
  return new Proxy(storage, {
    get(target, property, receiver) {
      if (property !== "write") return Reflect.get(target, property, receiver) as unknown;
      return async (key: string, body: Uint8Array, options?: WriteOptions) => {
        const write = () => target.write(key, body, options);
        if (!done && key.endsWith("/latest")) {
          done = true;
          await before(write);
          return write();
        }
        return write();
      };
    },
  });
}

async function push(registry: Registry, name: string, topHash: string, parents?: string[]) {
  return registry.pushManifest(name, topHash, async (key) => void (await registry.storage.write(key, Buffer.from(`manifest ${topHash}`))), {
    now,
    ...(parents === undefined ? {} : { parents }),
  });
}

describe("latest on S3", () => {
  it("a push whose latest moved between its check and its write fails, and both revisions stay", async () => {
    const storage = await remotes.s3(s3.bucket);
    const plain = new Registry(storage);
    const name = freshName();
    const base = fakeHash(`${name} base`);
    await push(plain, name, base, []);
    const ours = fakeHash(`${name} ours`);
    const theirs = fakeHash(`${name} theirs`);
    // Another client pushes right after our check of latest, before our write.
    const racing = new Registry(interceptLatest(storage, async () => void (await push(new Registry(storage), name, theirs, [base]))));
    const error = await rejectionOf(() => push(racing, name, ours, [base]));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.code).toBe("PACKAGE_LATEST_MOVED");
    expect(error.message).toContain(ours);
    expect(await plain.readPointer(name, "latest")).toBe(theirs);
    const revisions: string[] = [];
    for await (const pointer of plain.listPointers(name)) if (pointer.kind === "timestamp") revisions.push(pointer.topHash);
    expect(revisions.sort()).toEqual([base, ours, theirs].sort());
  });

  it("--force (no parents) replaces latest even then", async () => {
    const storage = await remotes.s3(s3.bucket);
    const name = freshName();
    const base = fakeHash(`${name} base`);
    await push(new Registry(storage), name, base, []);
    const forced = fakeHash(`${name} forced`);
    const racing = new Registry(interceptLatest(storage, async () => void (await push(new Registry(storage), name, fakeHash("other"), [base]))));
    await push(racing, name, forced);
    expect(await new Registry(storage).readPointer(name, "latest")).toBe(forced);
  });

  it("a retried write whose first try landed (its answer lost) counts as done", async () => {
    const storage = await remotes.s3(s3.bucket);
    const name = freshName();
    const base = fakeHash(`${name} base`);
    await push(new Registry(storage), name, base, []);
    const next = fakeHash(`${name} next`);
    // The write lands, then its retry fails its own If-Match: what a lost response looks like.
    const lossy = new Registry(
      interceptLatest(storage, async (write) => {
        await write();
      }),
    );
    const result = await push(lossy, name, next, [base]);
    expect(result.pointers).toContain("latest");
    expect(await new Registry(storage).readPointer(name, "latest")).toBe(next);
  });
});
