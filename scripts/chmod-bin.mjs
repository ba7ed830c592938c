// tsc does not keep the executable bit: the `quilt` bin must be runnable after `npm ci`.
import { chmodSync } from "node:fs";
chmodSync(new URL("../dist/cli/main.js", import.meta.url), 0o755);
