/**
 * Starting a worker thread from the compiled package or from the TypeScript sources.
 *
 * Compiled (`dist/`): the worker's `.js` module sits next to its caller; it is started directly.
 *
 * Sources (vitest runs `src/` through its own transformer, which worker threads do not get):
 * there is no `.js` beside the caller, only the `.ts`. The worker is then started with a
 * tiny module-loader hook (`--import` of a data: URL calling `module.register`) that maps the
 * `./x.js` import specifiers to `./x.ts` and transpiles them with the `typescript` dev
 * dependency. So tests always exercise the current sources, never a stale `dist/`. The cost is
 * ~1.5 s per worker start for loading the compiler; production never takes this path.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker, type ResourceLimits } from "node:worker_threads";
import { StorageError } from "../errors/index.js";

/** Start the worker module `js` (a `.js` URL beside the caller), or its `.ts` source under tests. */
export function spawnModuleWorker(js: URL, workerData: unknown, code: string, resourceLimits?: ResourceLimits): Worker {
  const limits = resourceLimits === undefined ? {} : { resourceLimits };
  const execArgv = workerExecArgv(process.execArgv);
  if (existsSync(js)) return new Worker(js, { workerData, execArgv, ...limits });
  const ts = new URL(js.href.replace(/\.js$/, ".ts"));
  if (existsSync(ts)) return new Worker(ts, { workerData, execArgv: [...execArgv, "--import", devLoaderUrl()], ...limits });
  throw new StorageError(code, `Worker script ${js.pathname} not found`, {
    hint: "Rebuild the package (npm run build): a worker module is missing from dist/.",
  });
}

/**
 * The parent's Node options, less those about the main script's source, which a worker refuses
 * to start with: under `node --input-type=module -e ...` every worker failed ("--input-type can
 * only be used with string input"), and the work silently ran on one thread instead.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    if (WITH_VALUE.has(arg)) i++; // and its value
    else if (!/^--(?:input-type|eval|print)=/.test(arg)) kept.push(arg);
  }
  return kept;
}

const WITH_VALUE = new Set(["--input-type", "-e", "--eval", "-p", "--print"]);

let cachedLoaderUrl: string | undefined;

function devLoaderUrl(): string {
  if (cachedLoaderUrl === undefined) {
    const typescript = pathToFileURL(resolveTypescript()).href;
    const hooks = dataUrl(hooksSource(typescript));
    cachedLoaderUrl = dataUrl(`import { register } from "node:module"; register(${JSON.stringify(hooks)});`);
  }
  return cachedLoaderUrl;
}

function resolveTypescript(): string {
  try {
    return createRequire(import.meta.url).resolve("typescript");
  } catch (err) {
    throw new StorageError("WORKER_LOADER_MISSING", "Running from TypeScript sources, but `typescript` is not installed", {
      hint: "Install dev dependencies (npm ci), or use the compiled package (npm run build).",
      cause: err,
    });
  }
}

function dataUrl(source: string): string {
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

/** Loader hooks (plain JS, run in Node's loader thread): `.js` -> `.ts` fallback, transpile. */
function hooksSource(typescriptUrl: string): string {
  return `
import ts from ${JSON.stringify(typescriptUrl)};
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent && parent.endsWith(".ts") && specifier.startsWith(".") && specifier.endsWith(".js")) {
    const asJs = new URL(specifier, parent);
    const asTs = new URL(asJs.href.slice(0, -3) + ".ts");
    if (!existsSync(fileURLToPath(asJs)) && existsSync(fileURLToPath(asTs))) return next(asTs.href, context);
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, context);
  const { source } = await next(url, { ...context, format: "module" });
  const out = ts.transpileModule(String(source), {
    fileName: fileURLToPath(url),
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true },
  });
  return { format: "module", source: out.outputText, shortCircuit: true };
}`;
}
