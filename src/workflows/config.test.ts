import { describe, expect, it } from "vitest";
import { isSupportedVersion, parseConfig } from "./config.js";
import { WorkflowConfigError } from "./errors.js";

const URL = "file:///r/.quilt/workflows/config.yml";
const parse = (text: string) => parseConfig(Buffer.from(text), URL);
const WORKFLOWS = "workflows:\n  a:\n    name: A\n";

describe("parseConfig", () => {
  it("reads a valid config, version as a string or {base}", () => {
    expect(parse(`version: "1"\n${WORKFLOWS}`).workflows.a?.name).toBe("A");
    expect(parse(`version:\n  base: "1.1.0"\n  catalog: "1"\n${WORKFLOWS}`).version).toEqual({ base: "1.1.0", catalog: "1" });
  });

  it.each([
    ["a version newer than 1.1.0", `version: "1.2"\n${WORKFLOWS}`, /Version '1\.2\.0' is not supported/],
    ["a version that is not a string", `version: 1.1\n${WORKFLOWS}`, /failed validation.*\/version/],
    ["no workflows", `version: "1"\n`, /failed validation.*required property 'workflows'/],
    ["an unknown key", `version: "1"\nextra: 1\n${WORKFLOWS}`, /must NOT have additional properties "extra"/],
    ["a bad workflow id", `version: "1"\nworkflows:\n  "1a":\n    name: A\n`, /property name must be valid/],
    ["a workflow without a name", `version: "1"\nworkflows:\n  a:\n    description: d\n`, /\/workflows\/a must have required property 'name'/],
    ["bad YAML", `version: [1\n`, /Couldn't parse workflows config as YAML/],
    ["bytes that are not UTF-8", Buffer.from("version: \xff", "latin1"), /Couldn't parse workflows config as YAML/],
  ])("refuses %s", (_what, text, message) => {
    const bytes = Buffer.from(text);
    expect(() => parseConfig(bytes, URL)).toThrow(WorkflowConfigError);
    expect(() => parseConfig(bytes, URL)).toThrow(message);
  });

  it("compares versions as quilt3's tuples", () => {
    expect(["1", "1.0", "1.1", "1.1.0", "1.0.99"].every(isSupportedVersion)).toBe(true);
    expect(["1.1.1", "1.2", "2", "10.0"].some(isSupportedVersion)).toBe(false);
  });
});
