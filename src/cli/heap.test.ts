import { describe, expect, it, vi } from "vitest";
import { heapFlagsFor } from "./heap.js";
import { interruptHandler } from "./interrupt.js";

const BOTH = ["--max-old-space-size=1536", "--max-semi-space-size=32"];

describe("heapFlagsFor", () => {
  it("caps the commands that build a package", () => {
    for (const command of ["push", "hash", "manifest", "add", "status", "build-manifest", "push-data", "push-manifest"]) {
      expect(heapFlagsFor([command, "x"], [], undefined), command).toEqual(BOTH);
    }
    // Global options before the command do not hide it.
    expect(heapFlagsFor(["--json", "push", "a/b"], [], undefined)).toEqual(BOTH);
  });

  it("leaves streaming commands, browsing, help and no command in this process", () => {
    const light = [["install", "a/b"], ["diff", "a/b"], ["verify", "a/b", "d"], ["ls", "a/b"], ["--json", "show", "a/b"], ["cat", "a/b", "k"], ["cache", "prune"]];
    for (const argv of [...light, [], ["--help"], ["push", "--help"], ["--version"]]) {
      expect(heapFlagsFor(argv, [], undefined), argv.join(" ")).toEqual([]);
    }
  });

  it("keeps what the user set, in node's options or NODE_OPTIONS, in either spelling", () => {
    expect(heapFlagsFor(["push"], ["--max-old-space-size=4096"], undefined)).toEqual(["--max-semi-space-size=32"]);
    expect(heapFlagsFor(["push"], [], "--inspect --max_old_space_size=900  --max-semi-space-size=8")).toEqual([]);
    expect(heapFlagsFor(["push"], ["--max-semi-space-size", "16"], "")).toEqual(["--max-old-space-size=1536"]);
    // An option that merely starts the same is not it.
    expect(heapFlagsFor(["push"], ["--max-old-space-size-foo=1"], undefined)).toEqual(BOTH);
  });
});

describe("interruptHandler", () => {
  it("aborts once, takes a repeat within a second as the same Ctrl-C, and exits 130 on a later one", () => {
    let now = 1_000;
    const abort = vi.fn();
    const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never);
    try {
      const handler = interruptHandler(abort, () => now);
      handler();
      now += 5;
      handler();
      expect(abort).toHaveBeenCalledTimes(1);
      expect(exit).not.toHaveBeenCalled();
      now += 2_000;
      handler();
      expect(abort).toHaveBeenCalledTimes(1);
      expect(exit).toHaveBeenCalledWith(130);
    } finally {
      exit.mockRestore();
    }
  });
});
