// Diff of two manifests in tree-walk order as a streaming merge-join (docs/design.md §5): memory is
// two read buffers and two current lines, whatever the size. Prints counts, time and peak RSS.
// Usage: node diff-merge.mjs --make-v2 V1_SORTED V2_OUT   (v2: 0.5% removed, 1% modified, 0.5% added)
//        node diff-merge.mjs V1_SORTED V2_SORTED
import { lineBatches, lineWriter, keyOfLine, maxRssMiB, seconds, cpuRefMs, quiltkitSort } from "./lib.mjs";

const { compareLogicalKeys } = await quiltkitSort();

async function makeV2(v1, out) {
  const w = lineWriter(out);
  let i = 0;
  for await (const batch of lineBatches(v1)) {
    for (const line of batch) {
      i++;
      if (i % 200 === 5) continue;
      // Flip one base64 character of the hash: a content change at the same key.
      const h = line.indexOf('"value": "') + 10;
      await w.write(i % 100 === 42 ? line.slice(0, h) + (line[h] === "A" ? "B" : "A") + line.slice(h + 1) : line);
      // key + ".v2" sorts right after key and before its successor: order is kept.
      if (i % 200 === 77) {
        const k = keyOfLine(line);
        await w.write(line.replace(`"logical_key": "${k}"`, `"logical_key": "${k}.v2"`));
      }
    }
  }
  await w.close();
}

/** What a diff compares: everything but the physical key (a re-push may move bytes, not change them). */
function content(line) {
  const from = line.indexOf('"size": ');
  return line.slice(from);
}

async function* cursor(path) {
  for await (const batch of lineBatches(path)) yield* batch;
}

async function diff(a, b) {
  const ia = cursor(a);
  const ib = cursor(b);
  let la = (await ia.next()).value;
  let lb = (await ib.next()).value;
  const counts = { added: 0, removed: 0, modified: 0, unchanged: 0 };
  while (la !== undefined || lb !== undefined) {
    const c = la === undefined ? 1 : lb === undefined ? -1 : compareLogicalKeys(keyOfLine(la), keyOfLine(lb));
    if (c < 0) {
      counts.removed++;
      la = (await ia.next()).value;
    } else if (c > 0) {
      counts.added++;
      lb = (await ib.next()).value;
    } else {
      if (content(la) === content(lb)) counts.unchanged++;
      else counts.modified++;
      la = (await ia.next()).value;
      lb = (await ib.next()).value;
    }
  }
  return counts;
}

const args = process.argv.slice(2);
if (args[0] === "--make-v2") {
  const t0 = performance.now();
  await makeV2(args[1], args[2]);
  console.log(JSON.stringify({ made: args[2], seconds: seconds(t0) }));
} else {
  const cpuRef = cpuRefMs();
  const t0 = performance.now();
  const counts = await diff(args[0], args[1]);
  console.log(JSON.stringify({ mode: "diff-merge-join", ...counts, seconds: seconds(t0), maxRssMiB: maxRssMiB(), cpuRefMs: cpuRef }));
}
