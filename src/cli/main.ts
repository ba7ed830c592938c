#!/usr/bin/env node
import { heapFlagsFor, runWithHeapFlags } from "./heap.js";

// The AWS SDK warns on every run that Node 20 support ends; the command's users cannot act on it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const argv = process.argv.slice(2);
const flags = heapFlagsFor(argv, process.execArgv, process.env.NODE_OPTIONS);
// The command itself is loaded only where it runs: this process stays small while its child works.
const code = flags.length > 0 ? await runWithHeapFlags(flags) : undefined;
process.exitCode = code ?? (await (await import("./program.js")).runCli(argv));
