/**
 * Starting a worker thread from the compiled package or from the TypeScript sources.
 *
 * Compiled (`dist/`): the worker's `.js` module sits in its domain's folder, named by its callers
 * as `../<domain>/<worker>.js` so that the URL holds from `dist/<domain>/` and from the CLI bundle
 * in `dist/bin/` alike (scripts/bundle-cli.mjs); it is started directly.
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
  if (existsSync(js)) return newWorker(js, { workerData, execArgv, ...limits });
  const ts = new URL(js.href.replace(/\.js$/, ".ts"));
  if (existsSync(ts)) return newWorker(ts, { workerData, execArgv: [...execArgv, "--import", devLoaderUrl()], ...limits });
  throw new StorageError(code, `Worker script ${js.pathname} not found`, {
    hint: "Rebuild the package (npm run build): a worker module is missing from dist/.",
  });
}

/**
 * The parent's Node options, less those a worker refuses to start with:
 * - those about the main script's source: under `node --input-type=module -e ...` every worker
 *   failed ("--input-type can only be used with string input"), and the work silently ran on one
 *   thread instead;
 * - V8's heap sizes (`node --max-old-space-size=1536 ...` made every worker throw
 *   ERR_WORKER_INVALID_EXEC_ARGV): a worker's heap is set by its `resourceLimits` instead.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    if (WITH_VALUE.has(arg)) i++; // and its value
    else if (!/^--(?:input-type|eval|print|max-old-space-size|max-semi-space-size|max-young-generation-size)=/.test(arg)) kept.push(arg);
  }
  return kept;
}

const WITH_VALUE = new Set(["--input-type", "-e", "--eval", "-p", "--print", "--max-old-space-size", "--max-semi-space-size"]);

type WorkerOptions = ConstructorParameters<typeof Worker>[1] & { execArgv: string[] };

/**
 * `new Worker`, once more without the options it names if it refuses some: Node accepts only
 * per-thread options there, and which those are changes between versions.
 */
function newWorker(url: URL, options: WorkerOptions): Worker {
  try {
    return new Worker(url, options);
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ERR_WORKER_INVALID_EXEC_ARGV") throw error;
    const refused = new Set(refusedOptions((error as Error).message));
    const execArgv = options.execArgv.filter((arg) => !refused.has(arg));
    if (execArgv.length === options.execArgv.length) throw error;
    return new Worker(url, { ...options, execArgv });
  }
}

/** The options named by ERR_WORKER_INVALID_EXEC_ARGV's message ("...execArgv flags: --a, --b=1"). */
export function refusedOptions(message: string): string[] {
  const colon = message.indexOf(": ");
  return colon < 0 ? [] : message.slice(colon + 2).split(", ").map((flag) => flag.trim());
}

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
