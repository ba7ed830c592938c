/**
 * YAML as PyYAML's `yaml.safe_load` reads it (quilt3 reads config.yml that way): YAML 1.1 scalars,
 * duplicate keys allowed (the last wins), one document only.
 *
 * The `yaml` package's YAML 1.1 schema is close to PyYAML's resolver; the differences that change
 * a value's type are patched below: PyYAML does not take `y`/`n` as booleans (so a workflow may be
 * called `y`), does not read `09` as an int, and wants a dot and a signed exponent in `1.0e+5`.
 * Timestamps still become dates in both (and then fail the config schema in both).
 */
import { createRequire } from "node:module";
import type { Tags } from "yaml";

/** Loaded on first use: only a push with workflows reads YAML, and `yaml` is ~60 modules (~50 ms at every start). */
let yamlModule: typeof import("yaml") | undefined;
function yaml(): typeof import("yaml") {
  yamlModule ??= createRequire(import.meta.url)("yaml") as typeof import("yaml");
  return yamlModule;
}

const PY_TRUE = /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/;
const PY_FALSE = /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;
const PY_DECIMAL_INT = /^[-+]?(?:0|[1-9][0-9_]*)$/;
const PY_EXP_FLOAT = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)[eE][-+][0-9]+$/;

type Tag = Tags[number];

function pyYamlTag(tag: Tag): Tag {
  if (typeof tag !== "object" || !("test" in tag) || tag.test === undefined) return tag;
  const source = tag.test.source;
  if (tag.tag === "tag:yaml.org,2002:bool") return { ...tag, test: source.includes("[Tt]rue") ? PY_TRUE : PY_FALSE };
  if (tag.tag === "tag:yaml.org,2002:int" && tag.format === undefined) return { ...tag, test: PY_DECIMAL_INT };
  if (tag.tag === "tag:yaml.org,2002:float" && tag.format === "EXP") return { ...tag, test: PY_EXP_FLOAT };
  return tag;
}

/** The document as plain JS (maps as objects); throws the `yaml` package's error on bad YAML. */
export function parsePyYaml(text: string): unknown {
  return yaml().parse(text, {
    version: "1.1",
    uniqueKeys: false,
    customTags: (tags) => tags.map(pyYamlTag),
  });
}
