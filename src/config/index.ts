import { homedir } from "node:os";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { UsageError } from "../errors/index.js";
import { DEFAULT_MAX_RECORD_SIZE } from "../manifest/index.js";

/**
 * Everything Quiltkit reads from its environment, read once (by the CLI, or by a library user
 * who wants the same behaviour) and passed down. No other module looks at `process.env`.
 */
export interface QuiltConfig {
  /** `$QUILT_HOME`, default `~/.local/share/quiltkit`: our registry, cache and config live here. */
  readonly home: string;
  /** quilt3's QUILT_MANIFEST_MAX_RECORD_SIZE. */
  readonly maxRecordSize: number;
  readonly tmpDir: string | undefined;
  /** QUILT_REGISTRY, else the config file's `registry`, else our own local folder. */
  readonly registry: string;
  /** Where the settings of `quilt config` live: `$QUILT_HOME/config.json`. */
  readonly configFile: string;
  /** How to reach S3 (or an S3-compatible server such as MinIO or versitygw). */
  readonly s3: S3Settings;
  /** Files transferred at once by push, install and copy (QUILT_TRANSFER_CONCURRENCY; default 16). */
  readonly transferConcurrency: number;
  /** The object cache's folder: QUILT_CACHE_DIR, default `$QUILT_HOME/cache/objects`. */
  readonly cacheDir: string;
}

/**
 * S3 settings. Credentials are not here: the AWS SDK's default chain reads them (environment,
 * `~/.aws/credentials`, SSO, instance roles), with `AWS_PROFILE` choosing the profile.
 */
export interface S3Settings {
  /** AWS_REGION, AWS_DEFAULT_REGION, or `s3.region`; absent: the SDK reads the profile, else us-east-1. */
  readonly region?: string;
  /** AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or `s3.endpoint`; absent for AWS itself. */
  readonly endpoint?: string;
  /** Path-style URLs: `s3.path-style` (true/false); default true when an endpoint is set. */
  readonly forcePathStyle?: boolean;
  /** HTTPS_PROXY / https_proxy (HTTP_PROXY for http:// endpoints), honoured unless NO_PROXY covers the host. */
  readonly proxy?: string;
  readonly noProxy?: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): QuiltConfig {
  const home = env.QUILT_HOME ?? join(env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "quiltkit");
  const configFile = join(home, "config.json");
  const settings = readSettings(configFile);
  return {
    home,
    configFile,
    maxRecordSize: positiveInt(env, "QUILT_MANIFEST_MAX_RECORD_SIZE") ?? DEFAULT_MAX_RECORD_SIZE,
    tmpDir: env.QUILT_TMPDIR,
    registry: nonEmpty(env.QUILT_REGISTRY) ?? settings.values.registry ?? join(home, "registry"),
    s3: s3Settings(env, settings.values),
    transferConcurrency: positiveInt(env, "QUILT_TRANSFER_CONCURRENCY") ?? DEFAULT_TRANSFER_CONCURRENCY,
    cacheDir: nonEmpty(env.QUILT_CACHE_DIR) ?? join(home, "cache", "objects"),
  };
}

export const DEFAULT_TRANSFER_CONCURRENCY = 16;

function s3Settings(env: NodeJS.ProcessEnv, values: SettingsFile["values"]): S3Settings {
  const region = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? values["s3.region"];
  const endpoint = nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL) ?? values["s3.endpoint"];
  const pathStyle = values["s3.path-style"];
  const secure = endpoint === undefined || endpoint.startsWith("https:");
  const proxy = secure ? (nonEmpty(env.HTTPS_PROXY) ?? nonEmpty(env.https_proxy)) : (nonEmpty(env.HTTP_PROXY) ?? nonEmpty(env.http_proxy));
  const noProxy = nonEmpty(env.NO_PROXY) ?? nonEmpty(env.no_proxy);
  return {
    ...(region === undefined ? {} : { region }),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(pathStyle === undefined ? {} : { forcePathStyle: pathStyle === "true" }),
    ...(proxy === undefined ? {} : { proxy }),
    ...(noProxy === undefined ? {} : { noProxy }),
  };
}

/** The settings `quilt config set` may write, and what each means. */
export const SETTINGS = {
  registry: "the default registry: a folder path, a file:// URL or s3://BUCKET",
  "s3.endpoint": "an S3-compatible endpoint URL (MinIO, versitygw); AWS_ENDPOINT_URL_S3 overrides it",
  "s3.region": "the S3 region; AWS_REGION overrides it",
  "s3.path-style": "true or false: path-style S3 URLs (default true when an endpoint is set)",
} as const;
export type SettingName = keyof typeof SETTINGS;

/** `$QUILT_HOME/config.json`, versioned from the first day. */
export interface SettingsFile {
  readonly version: 1;
  readonly values: Partial<Record<SettingName, string>>;
}

export function readSettings(path: string): SettingsFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { version: 1, values: {} };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError("CONFIG_INVALID", `${path} is not valid JSON.`, { hint: "Fix or delete the file.", cause: error });
  }
  const file = parsed as Partial<SettingsFile>;
  if (file.version !== 1 || typeof file.values !== "object" || file.values === null) {
    throw new UsageError("CONFIG_VERSION", `${path} has an unknown format (version ${String(file.version)}).`, {
      hint: "It was written by another version of quiltkit; upgrade, or delete the file.",
    });
  }
  return { version: 1, values: file.values };
}

export function writeSettings(path: string, settings: SettingsFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(settings, null, 2) + "\n");
  renameSync(temp, path);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** quilt3's `get_pos_int_from_env`: a positive integer, or an error naming the variable. */
function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0 || !/^\s*\+?\d+\s*$/.test(raw)) {
    throw new UsageError("CONFIG_INVALID", `${name} must be a positive integer, not ${JSON.stringify(raw)}.`, {
      hint: `Unset ${name} or give it a whole number of bytes.`,
    });
  }
  return value;
}
