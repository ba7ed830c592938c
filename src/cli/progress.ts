import { SingleBar, Presets } from "cli-progress";

export interface Progress {
  update(done: { files: number; bytes: number }): void;
  stop(): void;
}

/**
 * Progress of long work on stderr: a bar with rate and ETA on a terminal; elsewhere (CI, pipes)
 * a plain line at most every 10 seconds. Nothing at all with `--json` or `quiet`.
 */
export function createProgress(label: string, total: { files?: number; bytes?: number }, quiet: boolean): Progress {
  if (quiet) return { update: () => undefined, stop: () => undefined };
  if (process.stderr.isTTY) return barProgress(label, total);
  return lineProgress(label);
}

function barProgress(label: string, total: { files?: number; bytes?: number }): Progress {
  const bar = new SingleBar(
    {
      format: `${label} |{bar}| {percentage}% | {value}/{total} files | {mib} MiB | {rate} MiB/s | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  const started = Date.now();
  bar.start(total.files ?? 0, 0, { mib: "0", rate: "0" });
  return {
    update: ({ files, bytes }) => {
      if (total.files === undefined) bar.setTotal(Math.max(files, 1));
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      bar.update(files, { mib: (bytes / 2 ** 20).toFixed(1), rate: (bytes / 2 ** 20 / seconds).toFixed(1) });
    },
    stop: () => bar.stop(),
  };
}

function lineProgress(label: string): Progress {
  let last = Date.now();
  return {
    update: ({ files, bytes }) => {
      if (Date.now() - last < 10_000) return;
      last = Date.now();
      process.stderr.write(`${label}: ${files} files, ${(bytes / 2 ** 20).toFixed(1)} MiB\n`);
    },
    stop: () => undefined,
  };
}
