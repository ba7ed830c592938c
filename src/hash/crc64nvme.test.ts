import { Crc64Nvme as AwsCrc64Nvme } from "@aws-sdk/crc64-nvme";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Crc64Nvme, crc64nvme } from "./index.js";

async function aws(data: Uint8Array): Promise<string> {
  const c = new AwsCrc64Nvme();
  c.update(data);
  return Buffer.from(await c.digest()).toString("base64");
}

describe("CRC64NVME", () => {
  it.each([
    ["", "AAAAAAAAAAA="],
    ["Hello, World!", "1Km+Qyat0k0="],
    ["12345678".repeat(1024 * 1024), "rGEwZFw0JFo="],
  ])("quilt3 test value for %#", (text, want) => {
    expect(crc64nvme(Buffer.from(text))).toBe(want);
  });

  it("check value of the CRC-64/NVME catalogue (\"123456789\" -> 0xAE8B14860A799888)", () => {
    expect(new Crc64Nvme().update(Buffer.from("123456789")).digestBytes().toString("hex")).toBe("ae8b14860a799888");
  });

  it("matches @aws-sdk/crc64-nvme for any data, offset and update boundaries", async () => {
    const arb = fc.record({
      data: fc.uint8Array({ maxLength: 300 }),
      offset: fc.integer({ min: 0, max: 7 }),
      cuts: fc.array(fc.nat(), { maxLength: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ data, offset, cuts }) => {
        // Copy at a chosen misalignment: the word loop must handle any byteOffset.
        const backing = new Uint8Array(data.length + offset);
        backing.set(data, offset);
        const view = backing.subarray(offset);
        const c = new Crc64Nvme();
        let prev = 0;
        for (const cut of cuts.map((x) => x % (data.length + 1)).sort((a, b) => a - b)) {
          c.update(view.subarray(prev, cut));
          prev = cut;
        }
        c.update(view.subarray(prev));
        expect(c.digest()).toBe(await aws(data));
      }),
      { numRuns: 500 },
    );
  });
});
