"""quilt3's half of the browse bench (bench/browse.mjs), one process:

  browse-quilt3.py REGISTRY NAME FOLDER

Package.browse(NAME, registry=REGISTRY), then the keys of FOLDER (what `quilt ls NAME FOLDER/`
answers), then a walk summing count and size (what `quilt show` answers). One process does all
three because the browse is nearly all of the cost and at 10M entries takes many minutes; a
checkpoint after each step (getrusage: CPU since the process started and peak RSS so far; rchar
of /proc/self/io; wall clock) lets the caller split it: browse + ls is the checkpoint after the
keys, browse + walk is the end less the keys step.

Each checkpoint is also written to stderr as it happens, so a run stopped by a memory cap or a
time limit still tells how far it got. The last stdout line is the JSON answer.

S3: the client hook of test/helpers/quilt3_driver.py (endpoint of AWS_ENDPOINT_URL_S3, path-style
addressing, the region); without an endpoint it refuses, so the bench never reaches AWS.
"""

import json
import os
import resource
import sys
import time

os.environ.setdefault("QUILT_DISABLE_USAGE_METRICS", "true")
os.environ.setdefault("QUILT_MINIMIZE_STDOUT", "true")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

T0 = time.monotonic()


def rchar():
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return -1


def checkpoint(name, marks):
    r = resource.getrusage(resource.RUSAGE_SELF)
    mark = {
        "step": name,
        "wall": time.monotonic() - T0,
        "cpu": r.ru_utime + r.ru_stime,
        "maxrssKiB": r.ru_maxrss,
        "rchar": rchar(),
    }
    marks.append(mark)
    sys.stderr.write("BENCH_MARK " + json.dumps(mark) + "\n")
    sys.stderr.flush()


def build_s3_client_hook(build_client_base, session, client_kwargs, **kwargs):
    from botocore.config import Config

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3")
    if not endpoint:
        raise RuntimeError("browse-quilt3.py: no AWS_ENDPOINT_URL_S3; refusing to talk to AWS")
    config = (client_kwargs.get("config") or Config()).merge(Config(s3={"addressing_style": "path"}))
    region = os.environ.get("AWS_REGION") or "us-east-1"
    return build_client_base(session, {**client_kwargs, "config": config, "endpoint_url": endpoint, "region_name": region}, **kwargs)


def main(registry, name, folder):
    marks = []
    checkpoint("start", marks)
    import quilt3
    import quilt3.hooks

    quilt3.hooks.set_build_s3_client_hook(build_s3_client_hook)
    checkpoint("import", marks)
    pkg = quilt3.Package.browse(name, registry=registry)
    checkpoint("browse", marks)
    keys = [folder + "/" + k for k in pkg[folder].keys()]
    checkpoint("ls", marks)
    # Out now: a run stopped during the walk still answered the `ls` question.
    sys.stdout.write(json.dumps({"keys": keys}) + "\n")
    sys.stdout.flush()
    entries = 0
    total = 0
    for _, entry in pkg.walk():
        entries += 1
        total += entry.size
    checkpoint("walk", marks)
    return {"entries": entries, "bytes": total}


if __name__ == "__main__":
    answer = main(*sys.argv[1:4])
    sys.stdout.write(json.dumps(answer) + "\n")
