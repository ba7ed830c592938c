#!/usr/bin/env node
import { runCli } from "./program.js";

// The AWS SDK warns on every run that Node 20 support ends; the command's users cannot act on it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
process.exitCode = await runCli(process.argv.slice(2));
