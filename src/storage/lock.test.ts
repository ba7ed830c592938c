import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { QuiltError } from "../errors/index.js";
import { withLock } from "./lock.js";

const base = mkdtempSync(join(tmpdir(), "quiltkit-lock-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => join(base, `d${n++}`, "sub", "pkg.lock");

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

describe("withLock", () => {
  it("creates the folder, holds pid/host/time while running, and releases", async () => {
    const path = freshPath();
    const result = await withLock(path, () => {
      const owner = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      expect(owner).toMatchObject({ pid: process.pid, host: hostname() });
      expect(typeof owner.time).toBe("string");
      return Promise.resolve(42);
    });
    expect(result).toBe(42);
    expect(existsSync(path)).toBe(false);
  });

  it("releases when fn throws", async () => {
    const path = freshPath();
    await expect(withLock(path, () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(existsSync(path)).toBe(false);
  });

  it("serializes concurrent holders in one process", async () => {
    const path = freshPath();
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        withLock(path, async () => {
          inside++;
          most = Math.max(most, inside);
          await sleep(5);
          order.push(i);
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(order.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(existsSync(path)).toBe(false);
  });

  it("times out with LOCK_TIMEOUT naming the holder", async () => {
    const path = freshPath();
    await withLock(path, async () => {
      let error: unknown;
      try {
        await withLock(path, () => Promise.resolve(), { timeoutMs: 100 });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(QuiltError);
      const q = error as QuiltError;
      expect(q.code).toBe("LOCK_TIMEOUT");
      expect(q.kind).toBe("conflict");
      expect(q.message).toContain(path);
      expect(q.message).toContain(`process ${process.pid}`);
      expect(q.hint).toContain(path);
    });
  });

  it("breaks the lock of a dead process on this host, with a message", async () => {
    const path = freshPath();
    mkdirSync(join(path, ".."), { recursive: true });
    const pid = deadPid();
    writeFileSync(path, JSON.stringify({ pid, host: hostname(), time: new Date().toISOString(), token: "old" }));
    const warnings: string[] = [];
    await withLock(path, () => Promise.resolve(), { timeoutMs: 2000, onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`process ${pid}`);
    expect(warnings[0]).toContain("no longer exists");
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(join(path, ".."))).toEqual([]); // no .break guard left
  });

  it("judges a fresh lock from another host by its age only, never by its pid", async () => {
    const path = freshPath();
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, JSON.stringify({ pid: deadPid(), host: "elsewhere", time: new Date().toISOString(), token: "x" }));
    await expect(withLock(path, () => Promise.resolve(), { timeoutMs: 100 })).rejects.toMatchObject({ code: "LOCK_TIMEOUT" });
    expect(existsSync(path)).toBe(true);
  });

  it("breaks a lock not refreshed for staleMs, even from another host or unreadable", async () => {
    for (const content of [JSON.stringify({ pid: 1, host: "elsewhere", time: "2020-01-01T00:00:00.000Z", token: "t" }), ""]) {
      const path = freshPath();
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(path, content);
      const old = new Date(Date.now() - 120_000);
      utimesSync(path, old, old);
      const warnings: string[] = [];
      await withLock(path, () => Promise.resolve(), { staleMs: 60_000, timeoutMs: 2000, onWarning: (m) => warnings.push(m) });
      expect(warnings[0]).toMatch(/stale lock .* last refreshed \d+ s ago/);
    }
  });

  it("a live holder refreshes its lock so that it never looks stale", async () => {
    const path = freshPath();
    await withLock(
      path,
      async () => {
        await sleep(400);
        // 400 ms > staleMs, yet a waiter with the same staleMs must not break it.
        await expect(withLock(path, () => Promise.resolve(), { staleMs: 150, timeoutMs: 100 })).rejects.toMatchObject({
          code: "LOCK_TIMEOUT",
        });
      },
      { staleMs: 150 },
    );
    expect(existsSync(path)).toBe(false);
  });

  it("many waiters breaking the same stale lock still hold it one at a time", async () => {
    const path = freshPath();
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, JSON.stringify({ pid: deadPid(), host: hostname(), time: new Date().toISOString(), token: "dead" }));
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        withLock(path, async () => {
          inside++;
          most = Math.max(most, inside);
          await sleep(3);
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
  });

  it("is interrupted by an aborted signal while waiting", async () => {
    const path = freshPath();
    await withLock(path, async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 30);
      await expect(withLock(path, () => Promise.resolve(), { signal: controller.signal })).rejects.toMatchObject({
        code: "INTERRUPTED",
      });
    });
  });
});
