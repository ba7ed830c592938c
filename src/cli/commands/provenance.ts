import { Option } from "commander";
import type { PyObject, PyValue } from "../../json/index.js";
import { collectProvenance, withProvenance, type Provenance } from "../../package/provenance.js";
import type { CliContext } from "../context.js";

export interface ProvenanceFlags {
  provenance?: boolean;
  image?: string;
  imageDigest?: string;
}

export const PROVENANCE_HELP = `
--provenance adds to the package metadata (merged with --meta, which must then be an object):
  "provenance": {"git": {"commit", "remote", "branch", "dirty", "path"} or null,
                 "container": {"image", "digest"}}   (container only when one is given)
git is asked in the pushed folder (remote URLs without user names or passwords; dirty: staged,
unstaged or untracked changes). The image comes from --image or QUILT_IMAGE, its digest from
--image-digest or QUILT_IMAGE_DIGEST (or the @sha256:… part of the image reference).`;

/** The --provenance, --image and --image-digest options of `push`. */
export const provenanceOption = (): Option =>
  new Option("--provenance", "record the git commit, remote, branch, dirty state and container image in the metadata");
export const imageOption = (): Option => new Option("--image <ref>", "with --provenance: the container image this runs in").env("QUILT_IMAGE");
export const imageDigestOption = (): Option =>
  new Option("--image-digest <digest>", "with --provenance: the image's digest, sha256:…").env("QUILT_IMAGE_DIGEST");

/**
 * `meta` (as --meta parsed it) with the provenance of `dir` added when --provenance is on; says
 * what was recorded. The result is a dict of PyValues, which the builder takes exactly.
 */
export async function metaWithProvenance<M>(context: CliContext, dir: string, meta: M | undefined, flags: ProvenanceFlags): Promise<M | PyObject | undefined> {
  if (!flags.provenance) return meta;
  const { provenance, warnings } = await collectProvenance(dir, {
    ...(flags.image === undefined ? {} : { image: flags.image }),
    ...(flags.imageDigest === undefined ? {} : { imageDigest: flags.imageDigest }),
  });
  for (const warning of warnings) context.output.warn(`Warning: --provenance: ${warning}.`);
  const merged = withProvenance(pyValueOf(meta), provenance);
  if (!context.output.json) context.output.text(`Provenance: ${describe(provenance)}`);
  return merged;
}

function describe(p: Provenance): string {
  const parts: string[] = [];
  if (p.git !== null) {
    const { commit, branch, dirty, remote } = p.git;
    parts.push(`git ${commit?.slice(0, 12) ?? "(no commit)"} on ${branch ?? "(detached)"}${dirty ? ", dirty" : ""}${remote ? ` from ${remote}` : ""}`);
  }
  if (p.container !== undefined) parts.push(`image ${p.container.image ?? "?"}${p.container.digest ? ` (${p.container.digest})` : ""}`);
  return parts.length > 0 ? parts.join("; ") : "nothing found";
}

/** The PyValue of parsed --meta: a dict, list or scalar as is, or the value of a marked one (`py(…)`). */
function pyValueOf(meta: unknown): PyValue | undefined {
  if (meta === undefined || meta === null || typeof meta !== "object" || meta instanceof Map || Array.isArray(meta)) return meta as PyValue | undefined;
  return (meta as { value: PyValue }).value;
}
