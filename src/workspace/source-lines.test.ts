import { describe, expect, it } from "vitest";
import { addLine, displayOrder, displaySource, formatLines, lineOf, moveLines, removeLines, type SourceLine } from "./source-lines.js";
import { PushTally } from "./push-tally.js";

const lines: SourceLine[] = [
  { logical: "train2017/", source: "/ws/train2017/" },
  { logical: "val2017/", source: "s3://other/abc/validation/" },
  { logical: "test2017/", source: "/test2017/" },
  { logical: "train2017/1.jpg", source: "/ws/replacement/1.jpg" },
];

describe("source lines", () => {
  it("print as the seed does: aligned, an override under its folder", () => {
    expect(formatLines(lines, "/ws")).toEqual([
      "  train2017/         ->  ./train2017/",
      "  train2017/1.jpg    ->  ./replacement/1.jpg",
      "  val2017/           ->  s3://other/abc/validation/",
      "  test2017/          ->  ../test2017/",
    ]);
    expect(formatLines(lines.slice(0, 2), "/ws")).toEqual(["  train2017/    ->  ./train2017/", "  val2017/      ->  s3://other/abc/validation/"]);
  });

  it("show local paths relative to the workspace or beside it, else absolute", () => {
    expect(displaySource("/ws/a/", "/ws")).toBe("./a/");
    expect(displaySource("/ws", "/ws")).toBe("./");
    expect(displaySource("/b/c.txt", "/ws")).toBe("../b/c.txt");
    expect(displaySource("/x/y/z/", "/a/ws")).toBe("/x/y/z/");
    expect(displaySource("s3://b/k", "/ws")).toBe("s3://b/k");
  });

  it("find the most specific line of an entry", () => {
    expect(lineOf(lines, "train2017/1.jpg")).toBe(3);
    expect(lineOf(lines, "train2017/2.jpg")).toBe(0);
    expect(lineOf(lines, "other.txt")).toBe(-1);
    expect(lineOf([{ logical: "./", source: "/ws/" }, ...lines], "other.txt")).toBe(0);
  });

  it("follow set, rm and mv", () => {
    expect(addLine(lines, { logical: "train2017/1.jpg", source: "/ws/r2.jpg" }).filter((l) => l.logical === "train2017/1.jpg")).toEqual([
      { logical: "train2017/1.jpg", source: "/ws/r2.jpg" },
    ]);
    expect(removeLines(lines, "train2017").map((l) => l.logical)).toEqual(["val2017/", "test2017/"]);
    expect(removeLines(lines, "train2017/1.jpg").map((l) => l.logical)).toEqual(["train2017/", "val2017/", "test2017/"]);
    expect(moveLines(lines, "train2017/", "train/").map((l) => l.logical)).toEqual(["train/", "val2017/", "test2017/", "train/1.jpg"]);
    // A part of a folder line moves: a new line says where it came from.
    expect(moveLines(lines, "val2017/sub/", "sub/").pop()).toEqual({ logical: "sub/", source: "s3://other/abc/validation/sub/" });
  });

  it("order children after their folder line", () => {
    expect(displayOrder(lines).map((l) => l.logical)).toEqual(["train2017/", "train2017/1.jpg", "val2017/", "test2017/"]);
  });
});

describe("push tally", () => {
  it("reports per line, points lines at the data, and folds lines that say what their folder says", () => {
    const tally = new PushTally(lines);
    tally.record("train2017/2.jpg", "exists", 10, "s3://bucket/v0/train2017/2.jpg?versionId=x");
    tally.record("train2017/sub/3.jpg", "copied", 10, "s3://bucket/v0/train2017/sub/3.jpg");
    tally.record("train2017/1.jpg", "copied", 5, "s3://bucket/v0/train2017/1.jpg");
    tally.record("val2017/a.txt", "copied", 1, "s3://bucket/v0/val2017/a.txt");
    tally.record("loose.txt", "copied", 1, "s3://bucket/v0/loose.txt");
    const report = tally.report();
    expect(report.map((r) => [r.logical, r.to, r.copied, r.exists])).toEqual([
      ["train2017/", "s3://bucket/v0/train2017/", 1, 1],
      ["train2017/1.jpg", "s3://bucket/v0/train2017/1.jpg", 1, 0],
      ["val2017/", "s3://bucket/v0/val2017/", 1, 0],
      ["", "s3://bucket/v0/loose.txt", 1, 0],
    ]);
    expect(tally.updatedLines()).toEqual([
      { logical: "train2017/", source: "s3://bucket/v0/train2017/" },
      { logical: "val2017/", source: "s3://bucket/v0/val2017/" },
      { logical: "test2017/", source: "/test2017/" },
    ]);
  });
});
