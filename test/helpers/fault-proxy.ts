/**
 * A fault-injecting HTTP proxy for the S3 integration tests: it stands between an S3 client and the
 * test server (versitygw) and, on a seeded fraction of requests, misbehaves the way networks and S3
 * do. Everything else is forwarded unchanged and streamed both ways (no buffering of big bodies).
 *
 * Faults that answer instead of the server (`drop`, `500`, `503`, `stall`) never forward any of the
 * request: the server cannot be left with half a body. `drop-mid-body` forwards the request and
 * breaks the response.
 */
import { once } from "node:events";
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { pipeline } from "node:stream";

export type FaultKind = "drop" | "drop-mid-body" | "500" | "503" | "stall";
export const FAULT_KINDS: readonly FaultKind[] = ["drop", "drop-mid-body", "500", "503", "stall"];

export interface FaultOptions {
  /** Seed of the PRNG that picks faulty requests and their kind. */
  readonly seed: number;
  /** Fraction (0..1) of eligible requests that get a fault. */
  readonly rate: number;
  /** The kinds to pick from, uniformly. */
  readonly kinds: readonly FaultKind[];
  /** How long a `stall` holds the request before cutting the socket (make it longer than the client's timeout). */
  readonly stallMs: number;
  /** Only requests with these methods (e.g. `["GET"]`) are eligible; all when absent. */
  readonly onlyMethods?: readonly string[];
  /** At most this many faults from now on (counted from the last `configure`); no cap when absent. */
  readonly maxFaults?: number;
}

export interface FaultStats {
  /** Requests received. */
  readonly requests: number;
  /** Requests forwarded to the server (including those whose response `drop-mid-body` broke). */
  readonly forwarded: number;
  /** Faults injected, by kind. */
  readonly faults: Readonly<Record<FaultKind, number>>;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: give it to the client as its endpoint. */
  readonly endpoint: string;
  /** Change options at run time; omitted fields keep their value, a `seed` restarts the PRNG. */
  configure(options: Partial<FaultOptions>): void;
  stats(): FaultStats;
  /** Every request received so far, as `METHOD /path?query`, in arrival order. */
  requestLog(): readonly string[];
  /** Stop listening and destroy every open socket (stalled ones included). */
  close(): Promise<void>;
}

const DEFAULTS: FaultOptions = { seed: 1, rate: 0, kinds: FAULT_KINDS, stallMs: 5_000 };

/** mulberry32: small, fast, and the same sequence for the same seed. */
function prng(seed: number): () => number {
  // Scramble the seed first (murmur3's finalizer): mulberry32's first draws from nearby seeds
  // (1, 2, 3…) are alike, so without this every small seed spared the first request.
  let a = Math.imul(seed ^ (seed >>> 16), 0x85ebca6b);
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  a = (a ^ (a >>> 16)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An S3 error document, as S3 sends for server faults (the SDK reads `Code` to classify the error). */
function s3ErrorBody(code: string, message: string, resource: string): string {
  const escaped = resource.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Resource>${escaped}</Resource><RequestId>fault-proxy</RequestId></Error>`;
}

const ERRORS = {
  "500": { status: 500, code: "InternalError", message: "We encountered an internal error. Please try again." },
  "503": { status: 503, code: "SlowDown", message: "Please reduce your request rate." },
} as const;

export async function startFaultProxy(target: string, options: Partial<FaultOptions> = {}): Promise<FaultProxy> {
  const upstream = new URL(target);
  let config: FaultOptions = { ...DEFAULTS, ...options };
  let random = prng(config.seed);
  let faultsSinceConfigure = 0;
  const counts = { requests: 0, forwarded: 0, faults: { drop: 0, "drop-mid-body": 0, "500": 0, "503": 0, stall: 0 } };
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const log: string[] = [];

  function pick(method: string): FaultKind | undefined {
    if (config.onlyMethods !== undefined && !config.onlyMethods.includes(method)) return undefined;
    if (config.maxFaults !== undefined && faultsSinceConfigure >= config.maxFaults) return undefined;
    if (config.kinds.length === 0 || random() >= config.rate) return undefined;
    const kind = config.kinds[Math.floor(random() * config.kinds.length)];
    if (kind === undefined) return undefined;
    faultsSinceConfigure++;
    counts.faults[kind]++;
    return kind;
  }

  function forward(req: IncomingMessage, res: ServerResponse, breakBody: boolean): void {
    counts.forwarded++;
    // rawHeaders as they came, Host included: SigV4 signs the Host the client sent (the proxy's
    // address), and the server checks the signature against the Host it receives.
    const out = httpRequest(
      { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.rawHeaders, agent },
      (upRes) => {
        if (breakBody) {
          forwardHalf(req, upRes, res).catch(() => res.socket?.destroy());
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.rawHeaders);
        pipeline(upRes, res, () => {}); // on error pipeline destroys both: the client sees the break
      },
    );
    // A client that gives up mid-upload must not complete the upstream request: pipeline destroys it,
    // so the server sees a short body and stores nothing.
    pipeline(req, out, (error) => {
      if (error !== undefined && error !== null) res.socket?.destroy();
    });
  }

  const server = createServer((req, res) => {
    counts.requests++;
    log.push(`${req.method ?? "GET"} ${req.url ?? "/"}`);
    const kind = pick(req.method ?? "GET");
    if (kind === undefined || kind === "drop-mid-body") {
      forward(req, res, kind === "drop-mid-body");
      return;
    }
    const socket = req.socket;
    if (kind === "stall") {
      // Take the body (so the client is left waiting for an answer, not for a write), answer nothing.
      const timer = setTimeout(() => socket.destroy(), config.stallMs);
      socket.once("close", () => clearTimeout(timer));
      req.resume();
      return;
    }
    // The server never sees this request: read and discard the body, then fail.
    req.resume();
    req.once("end", () => {
      if (kind === "drop") {
        socket.destroy();
        return;
      }
      const { status, code, message } = ERRORS[kind];
      const body = s3ErrorBody(code, message, req.url ?? "/");
      res.writeHead(status, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fault proxy: no TCP address");

  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    configure(next) {
      config = { ...config, ...next };
      if (next.seed !== undefined) random = prng(next.seed);
      faultsSinceConfigure = 0;
    },
    stats: () => ({ requests: counts.requests, forwarded: counts.forwarded, faults: { ...counts.faults } }),
    requestLog: () => [...log],
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await closed;
    },
  };
}

/**
 * Send the status, headers and the first half of the body, then cut the connection. A response
 * with no body to cut (HEAD, an empty body, or no Content-Length to halve) is lost whole: the
 * server did the work, the client never hears of it.
 */
async function forwardHalf(req: IncomingMessage, upRes: IncomingMessage, res: ServerResponse): Promise<void> {
  const length = Number(upRes.headers["content-length"]);
  const cutAt = req.method === "HEAD" || !Number.isFinite(length) ? 0 : Math.floor(length / 2);
  if (cutAt === 0) {
    upRes.destroy();
    res.socket?.destroy();
    return;
  }
  res.writeHead(upRes.statusCode ?? 502, upRes.rawHeaders);
  let sent = 0;
  for await (const chunk of upRes as AsyncIterable<Buffer>) {
    const part = chunk.subarray(0, cutAt - sent);
    sent += part.length;
    const more = res.write(part);
    if (sent >= cutAt || res.destroyed) break; // leaving the loop destroys upRes
    if (!more) await drained(res);
  }
  // Let what was written reach the client, then close: it sees a body shorter than Content-Length.
  res.socket?.destroySoon();
}

/** Resolves when `res` can take more, or is gone (then the loop above stops). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
