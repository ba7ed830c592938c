import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { QuiltError } from "../errors/index.js";
import { formatHandle, normalizeRegistry, parseHandle, type PackageHandle } from "./handle.js";
import { errorOf } from "../../test/helpers/expect.js";

const H = "0f074cc9a77c574281577ddc98cb147dfa88dc20d84582cedc1fd5f366686d76";

describe("parseHandle", () => {
  it.each<[string, PackageHandle]>([
    ["user/pkg", { name: "user/pkg" }],
    ["user/pkg:v1", { name: "user/pkg", tag: "v1" }],
    ["user/pkg:latest", { name: "user/pkg", tag: "latest" }],
    ["user/pkg@0f074c", { name: "user/pkg", hash: "0f074c" }],
    ["user/pkg@0F074CC9", { name: "user/pkg", hash: "0f074cc9" }],
    [`user/pkg@${H}`, { name: "user/pkg", hash: H }],
    [`user/pkg:${H}`, { name: "user/pkg", hash: H }],
    [`user/pkg:${H.toUpperCase()}`, { name: "user/pkg", hash: H }],
    [`user/pkg:${H}@0f074cc9`, { name: "user/pkg", hash: H }],
    ["user/pkg:v1@0f074cc9", { name: "user/pkg", tag: "v1", hash: "0f074cc9" }],
    ["user/pkg:abcdef", { name: "user/pkg", tag: "abcdef" }],
    ["日本/語:v2", { name: "日本/語", tag: "v2" }],
    ["s3://bucket/user/pkg", { registry: "s3://bucket", name: "user/pkg" }],
    ["s3://my.bucket-1/user/pkg:v1@0f074cc9", { registry: "s3://my.bucket-1", name: "user/pkg", tag: "v1", hash: "0f074cc9" }],
    ["quilt+s3://bucket#package=user/pkg", { registry: "s3://bucket", name: "user/pkg" }],
    ["QUILT+S3://bucket/#package=user/pkg:v1", { registry: "s3://bucket", name: "user/pkg", tag: "v1" }],
    [
      `quilt+s3://quilt-example#package=akarve/cord19@${H}&path=CORD19.ipynb`,
      { registry: "s3://quilt-example", name: "akarve/cord19", hash: H, path: "CORD19.ipynb" },
    ],
    [
      "quilt+s3://b#catalog=open.quiltdata.com&package=u/p&path=dir%20x/a+b.txt&unknown=1",
      { registry: "s3://b", name: "u/p", path: "dir x/a b.txt" },
    ],
    ["quilt+s3://b#package=u%2Fp%3Av1", { registry: "s3://b", name: "u/p", tag: "v1" }],
    ["quilt+s3://b#package=u/p&path=", { registry: "s3://b", name: "u/p" }],
  ])("%s", (text, expected) => {
    expect(parseHandle(text)).toEqual(expected);
  });

  it("takes the registry of a short handle from defaultRegistry, normalized", () => {
    expect(parseHandle("u/p:v1", { defaultRegistry: "s3://bkt/" })).toEqual({ registry: "s3://bkt", name: "u/p", tag: "v1" });
    expect(parseHandle("u/p", { defaultRegistry: "file:///tmp/reg" })).toEqual({ registry: "file:///tmp/reg", name: "u/p" });
    expect(parseHandle("u/p", { defaultRegistry: "./reg" })).toEqual({ registry: "./reg", name: "u/p" });
    // A handle that names its bucket keeps it.
    expect(parseHandle("s3://a/u/p", { defaultRegistry: "s3://b" }).registry).toBe("s3://a");
  });

  it.each([
    ["", "package name"],
    ["user", "1 part"],
    ["user/pkg/extra", "3 parts"],
    ["user/pkg\n", "newline"],
    ["user/pk.g", "'.'"],
    ["user/pkg:", "empty"],
    ["user/pkg@", "empty"],
    ["user/pkg@12345", "shorter than 6"],
    ["user/pkg@xyz123", "not hexadecimal"],
    [`user/pkg@${H}0`, "longer than 64"],
    ["user/pkg@abcdef:v1", "must come before"],
    ["user/pkg:1700000000", "timestamp"],
    ["user/pkg:v 1", "U+0020"],
    ["user/pkg:v1:v2", "':'"],
    ["user/pkg@abcdef@abcdef", "not hexadecimal"],
    [`user/pkg:${H}@111111`, "disagree"],
    ["s3://bucket", "no package name"],
    ["s3://bucket/", "no package name"],
    ["s3://bucket/user/pkg?versionId=1", "query"],
    ["s3:///user/pkg", "bucket is empty"],
    ["s3://bu cket/user/pkg", "not a bucket"],
    ["quilt+s3://bucket", "no '#package=NS/NAME' fragment"],
    ["quilt+s3://bucket#path=x", "no 'package=NS/NAME'"],
    ["quilt+s3://bucket/prefix#package=u/p", "without a path"],
    ["quilt+s3://bucket?x=1#package=u/p", "query"],
    ["quilt+s3://b#package=u/p&package=u/q", "more than once"],
    ["quilt+s3://b#package=u/p%E0", "malformed"],
    ["quilt+file:///tmp#package=u/p", "only quilt+s3"],
    ["https://example.com/u/p", "scheme 'https'"],
  ])("refuses %j (%s) with HANDLE_INVALID and the accepted forms", (text, why) => {
    const error = errorOf(() => parseHandle(text));
    expect(error.code).toBe("HANDLE_INVALID");
    expect(error.kind).toBe("usage");
    expect(error.message).toContain(JSON.stringify(text));
    expect(error.message).toContain(why);
    expect(error.hint).toContain("quilt+s3://BUCKET#package=NS/NAME");
    expect(error.hint).toContain("s3://BUCKET/NS/NAME");
    expect(error.hint).toContain("--registry");
  });

  it("never throws anything but HANDLE_INVALID / REGISTRY_INVALID (property)", () => {
    const piece = fc.constantFrom("u/p", "quilt+s3://", "s3://", "b", "#", "package=", "&", "path=", ":", "@", "v1", "abcdef", H, "%", "/", "?", "é", "\n");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const text = pieces.join("");
        try {
          const handle = parseHandle(text);
          expect(handle.name).toMatch(/^[^/]+\/[^/]+$/);
        } catch (error) {
          expect(error).toBeInstanceOf(QuiltError);
          expect((error as QuiltError).code).toBe("HANDLE_INVALID");
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("formatHandle", () => {
  it("writes each form", () => {
    const h: PackageHandle = { registry: "s3://bkt", name: "u/p", tag: "v1", hash: "abcdef12" };
    expect(formatHandle(h)).toBe("quilt+s3://bkt#package=u/p:v1@abcdef12");
    expect(formatHandle(h, { form: "s3" })).toBe("s3://bkt/u/p:v1@abcdef12");
    expect(formatHandle(h, { form: "short" })).toBe("u/p:v1@abcdef12");
    expect(formatHandle({ name: "u/p" })).toBe("u/p");
    expect(formatHandle({ registry: "s3://b", name: "u/p", path: "dir x/a+b#.txt" })).toBe(
      "quilt+s3://b#package=u/p&path=dir%20x/a%2Bb%23.txt",
    );
    expect(errorOf(() => formatHandle({ registry: "/tmp/reg", name: "u/p" }, { form: "s3" })).code).toBe("HANDLE_FORMAT_UNSUPPORTED");
  });

  it("round-trips through parseHandle (property)", () => {
    const nameChar = fc.constantFrom("a", "Z", "0", "_", "-", "é", "語", "٣");
    const part = fc.array(nameChar, { minLength: 1, maxLength: 6 }).map((c) => c.join(""));
    const tag = fc
      .array(fc.constantFrom("a", "v", "1", ".", "_", "-", "Z"), { minLength: 1, maxLength: 8 })
      .map((c) => c.join(""))
      .filter((t) => !/^[0-9]+$/.test(t) && t !== "." && t !== "..");
    const hash = fc
      .array(fc.constantFrom(..."0123456789abcdef"), { minLength: 6, maxLength: 64 })
      .map((c) => c.join(""));
    const handle = fc.record(
      {
        registry: fc.constantFrom("s3://bucket", "s3://my.bucket-2"),
        name: fc.tuple(part, part).map(([a, b]) => `${a}/${b}`),
        tag,
        hash,
        path: fc.string({ minLength: 1, maxLength: 10 }),
      },
      { requiredKeys: ["registry", "name"] },
    );
    fc.assert(
      fc.property(handle, fc.constantFrom("quilt+" as const, "s3" as const, "short" as const), (h, form) => {
        const text = formatHandle(h, { form });
        const expected: Record<string, unknown> = { ...h };
        if (form !== "quilt+") delete expected.path;
        if (form === "short") delete expected.registry;
        expect(parseHandle(text)).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("normalizeRegistry", () => {
  it.each([
    ["s3://bkt", "s3://bkt"],
    ["s3://bkt/", "s3://bkt"],
    ["quilt+s3://bkt", "s3://bkt"],
    ["file:///tmp/reg", "file:///tmp/reg"],
    ["/tmp/reg", "/tmp/reg"],
    ["reg", "reg"],
  ])("%s -> %s", (text, expected) => {
    expect(normalizeRegistry(text)).toBe(expected);
  });

  it.each(["", "s3://bkt/prefix", "s3://", "https://x", "a\0b"])("refuses %j", (text) => {
    const error = errorOf(() => normalizeRegistry(text));
    expect(error.code).toBe("REGISTRY_INVALID");
    expect(error.hint).toContain("s3://BUCKET");
  });
});
