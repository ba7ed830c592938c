// Sort a random-order manifest into tree-walk order with SQLite (better-sqlite3), writing the
// sorted manifest. better-sqlite3 has no custom-collation API, so each row carries a sort-key
// BLOB whose memcmp order is tree-walk order (lib.mjs sortKeyBlob).
// better-sqlite3 is NOT a project dependency: install it in a scratch folder
//   mkdir /tmp/sqlite-bench && cd /tmp/sqlite-bench && npm install better-sqlite3@12
// Usage: node sort-sqlite.mjs IN OUT --mode orderby|pk --cache-mib 200 [--db FILE] [--sqlite-dir DIR]
//   (temp files go beside --db, default /tmp/qk-design/sort.sqlite)
//   orderby: heap table, then SELECT … ORDER BY k (SQLite's external sorter)
//   pk:      WITHOUT ROWID table keyed by k, INSERT OR REPLACE (last write wins), then scan
import { createRequire } from "node:module";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { lineBatches, lineWriter, keyOfLine, sortKeyBlob, maxRssMiB, seconds, arg, diskSampler, cpuRefMs, quiltkitSort } from "./lib.mjs";

const require = createRequire(`${arg("sqlite-dir", "/tmp/sqlite-bench")}/`);
const Database = require("better-sqlite3");
const { compareLogicalKeys } = await quiltkitSort();
const [input, output] = process.argv.slice(2);
const mode = arg("mode", "orderby");
const cacheMiB = Number(arg("cache-mib", "200"));
const dbPath = arg("db", "/tmp/qk-design/sort.sqlite");
// SQLite's sorter spills here; the disk sampler watches the same filesystem.
const work = dirname(dbPath);
mkdirSync(work, { recursive: true });
process.env.SQLITE_TMPDIR = work;

const cpuRef = cpuRefMs();
const disk = await diskSampler(work);
rmSync(dbPath, { force: true });
const t0 = performance.now();
const db = new Database(dbPath);
db.pragma("journal_mode = OFF");
db.pragma("synchronous = OFF");
db.pragma("locking_mode = EXCLUSIVE");
db.pragma("temp_store = FILE");
db.pragma(`cache_size = -${cacheMiB * 1024}`);
db.exec(
  mode === "pk"
    ? "CREATE TABLE t (k BLOB PRIMARY KEY, line TEXT NOT NULL) WITHOUT ROWID"
    : "CREATE TABLE t (k BLOB NOT NULL, line TEXT NOT NULL)",
);
const insert = db.prepare(mode === "pk" ? "INSERT OR REPLACE INTO t VALUES (?, ?)" : "INSERT INTO t VALUES (?, ?)");
const insertBatch = db.transaction((batch) => {
  for (const l of batch) insert.run(sortKeyBlob(keyOfLine(l)), l);
});
for await (const batch of lineBatches(input)) insertBatch(batch);
const insertSeconds = seconds(t0);

const w = lineWriter(output);
let count = 0;
let prev;
for (const row of db.prepare("SELECT line FROM t ORDER BY k").pluck().iterate()) {
  const k = keyOfLine(row);
  if (prev !== undefined && compareLogicalKeys(prev, k) >= 0) throw new Error(`out of order at ${count}`);
  prev = k;
  count++;
  await w.write(row);
}
await w.close();
const dbMiB = +(statSync(dbPath).size / 2 ** 20).toFixed(0);
db.close();
rmSync(dbPath, { force: true });
console.log(
  JSON.stringify({
    mode: `sqlite-${mode}`,
    records: count,
    cacheMiB,
    seconds: seconds(t0),
    insertSeconds,
    maxRssMiB: maxRssMiB(),
    dbMiB,
    peakDiskMiB: disk.stop(),
    cpuRefMs: cpuRef,
  }),
);
