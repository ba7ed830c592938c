"""A small command line over quilt3 (8.0.0) for the tests: push, browse, install, verify and list
packages on an S3-compatible server (versitygw) or a local registry.

One command per process; the answer is one JSON document on stdout. On failure: one JSON document
{"error", "type", "trace"} on stderr and exit status 1 (argument errors too). Whatever quilt3 prints
itself (progress, "Package ... pushed") goes to stderr, so stdout is only the answer.

Metadata is passed through as Python's own json.dumps text in string fields (`meta_json`), so the
TypeScript side parses it with its lossless parser: 1.0 stays 1.0, big integers stay exact.

S3: quilt3 builds every S3 client through `S3ClientProvider._build_client`, which calls the hook of
`quilt3.hooks.set_build_s3_client_hook`. The hook below gives each client the endpoint of
AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL), path-style addressing, the region of AWS_REGION /
AWS_DEFAULT_REGION (us-east-1) and no retries beyond a few; it refuses to build a client without an
endpoint or without credentials, so a test can never reach AWS (or quietly go unsigned).
Credentials come from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), read by the
plain boto3.Session() that quilt3 uses when it has no Quilt catalog login (there is none: the
caller points platformdirs' XDG folders at a temp folder, so there is no quilt3 config either).

Usage:
  quilt3_driver.py push    --registry s3://B --name ns/n --dir D [--meta JSON] [--message M]
                           [--entry-meta-file F] [--force]
  quilt3_driver.py browse  --registry R --name N [--top-hash H]
  quilt3_driver.py install --registry R --name N --dest D [--top-hash H] [--path P]
  quilt3_driver.py verify  --registry R --name N --dir D [--top-hash H] [--extra-files-ok]
  quilt3_driver.py list    --registry R
  quilt3_driver.py amend   --registry s3://B --name ns/n [--set LK PATH]... [--delete LK]... [--message M]
  quilt3_driver.py batch   --steps F
  quilt3_driver.py version
--entry-meta-file: a JSON object {logical_key: metadata} applied after set_dir (metadata replaces the
entry's user_meta).
amend: browse the latest revision, set files (each LK from a local PATH) and delete keys, then push
on top of it (no force: quilt3 checks that latest is still the browsed revision).
batch: F is a JSON list of argument lists (each one command above, but batch); they run in order in
this one process (quilt3 imported once) and the answer is {"results": [answer, ...]}. The first
failing step fails the whole batch.
"""

import argparse
import contextlib
import json
import os
import sys
import traceback

# Before quilt3 is imported: no usage metrics, no progress bars, no object cache; no EC2 metadata
# lookups when credentials are missing (boto3 would wait on 169.254.169.254 first).
os.environ.setdefault("QUILT_DISABLE_USAGE_METRICS", "true")
os.environ.setdefault("QUILT_MINIMIZE_STDOUT", "true")
os.environ.setdefault("QUILT_DISABLE_CACHE", "true")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def compact(value):
    """Python's json.dumps text of a value (what quilt3 hashes is its own; this is for comparing)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def s3_endpoint():
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")


def build_s3_client_hook(build_client_base, session, client_kwargs, **kwargs):
    from botocore.config import Config

    endpoint = s3_endpoint()
    if not endpoint:
        raise RuntimeError("quilt3_driver: no S3 endpoint (set AWS_ENDPOINT_URL_S3); refusing to talk to AWS")
    if session.get_credentials() is None:
        raise RuntimeError("quilt3_driver: no AWS credentials in the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)")
    config = client_kwargs.get("config") or Config()
    config = config.merge(
        Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        )
    )
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    client_kwargs = {**client_kwargs, "config": config, "endpoint_url": endpoint, "region_name": region}
    return build_client_base(session, client_kwargs, **kwargs)


def entries_of(pkg):
    return [
        {
            "logical_key": lk,
            "physical_key": str(entry.physical_key),
            "size": entry.size,
            "hash": entry.hash,
            "meta_json": compact(entry._meta),
        }
        for lk, entry in pkg.walk()
    ]


def describe(pkg):
    return {
        "top_hash": pkg.top_hash,
        "message": pkg._meta.get("message"),
        "meta_json": compact(pkg.meta),
        "entries": entries_of(pkg),
    }


def cmd_push(quilt3, args):
    pkg = quilt3.Package()
    meta = None if args.meta is None else json.loads(args.meta)
    pkg.set_dir(".", args.dir, meta=meta)
    if args.entry_meta_file is not None:
        with open(args.entry_meta_file, encoding="utf-8") as f:
            per_entry = json.load(f)
        for lk, entry_meta in per_entry.items():
            pkg[lk].set_meta(entry_meta)
    pushed = pkg.push(args.name, registry=args.registry, message=args.message, force=args.force)
    return {"name": args.name, "registry": args.registry, **describe(pushed)}


def cmd_browse(quilt3, args):
    pkg = quilt3.Package.browse(args.name, registry=args.registry, top_hash=args.top_hash)
    return {"name": args.name, **describe(pkg)}


def cmd_install(quilt3, args):
    # Resolve first: the answer names the version installed even when --top-hash is not given.
    top_hash = quilt3.Package.browse(args.name, registry=args.registry, top_hash=args.top_hash).top_hash
    quilt3.Package.install(args.name, registry=args.registry, top_hash=top_hash, dest=args.dest, path=args.path)
    files = []
    for root, _dirs, names in os.walk(args.dest):
        for n in names:
            files.append(os.path.relpath(os.path.join(root, n), args.dest).replace(os.sep, "/"))
    return {"name": args.name, "top_hash": top_hash, "dest": args.dest, "files": sorted(files)}


def cmd_verify(quilt3, args):
    pkg = quilt3.Package.browse(args.name, registry=args.registry, top_hash=args.top_hash)
    return {"name": args.name, "top_hash": pkg.top_hash, "verified": pkg.verify(args.dir, extra_files_ok=args.extra_files_ok)}


def cmd_list(quilt3, args):
    packages = []
    for name in sorted(quilt3.list_packages(args.registry)):
        versions = sorted([list(v) for v in quilt3.list_package_versions(name, registry=args.registry)])
        packages.append({"name": name, "versions": versions})
    return {"registry": args.registry, "packages": packages}


def cmd_amend(quilt3, args):
    pkg = quilt3.Package.browse(args.name, registry=args.registry)
    parent = pkg.top_hash
    for lk, path in args.set or []:
        pkg.set(lk, path)
    for lk in args.delete or []:
        pkg.delete(lk)
    pushed = pkg.push(args.name, registry=args.registry, message=args.message)
    return {"name": args.name, "registry": args.registry, "parent": parent, **describe(pushed)}


def cmd_batch(quilt3, args):
    with open(args.steps, encoding="utf-8") as f:
        steps = json.load(f)
    if not isinstance(steps, list) or not all(isinstance(s, list) and all(isinstance(a, str) for a in s) for s in steps):
        raise UsageError("batch: --steps must hold a JSON list of argument lists")
    results = []
    for step in steps:
        if step[:1] == ["batch"]:
            raise UsageError("batch: a step cannot be a batch")
        sub = parser().parse_args(step)
        results.append(sub.fn(quilt3, sub))
    return {"results": results}


def cmd_version(quilt3, args):
    return {"quilt3": quilt3.__version__, "python": sys.version.split()[0], "executable": sys.executable}


def parser():
    p = Parser(prog="quilt3_driver.py", description="quilt3 for the tests (JSON answers).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    def command(name, fn):
        c = sub.add_parser(name)
        c.set_defaults(fn=fn)
        return c

    c = command("push", cmd_push)
    c.add_argument("--registry", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--dir", required=True)
    c.add_argument("--meta")
    c.add_argument("--message")
    c.add_argument("--entry-meta-file")
    c.add_argument("--force", action="store_true")

    c = command("browse", cmd_browse)
    c.add_argument("--registry", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--top-hash")

    c = command("install", cmd_install)
    c.add_argument("--registry", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--dest", required=True)
    c.add_argument("--top-hash")
    c.add_argument("--path")

    c = command("verify", cmd_verify)
    c.add_argument("--registry", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--dir", required=True)
    c.add_argument("--top-hash")
    c.add_argument("--extra-files-ok", action="store_true")

    c = command("list", cmd_list)
    c.add_argument("--registry", required=True)

    c = command("amend", cmd_amend)
    c.add_argument("--registry", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--set", nargs=2, action="append", metavar=("LK", "PATH"))
    c.add_argument("--delete", action="append")
    c.add_argument("--message")

    c = command("batch", cmd_batch)
    c.add_argument("--steps", required=True)

    command("version", cmd_version)
    return p


def main(argv):
    out = sys.stdout
    try:
        args = parser().parse_args(argv)
        # quilt3's own prints (install, push) would corrupt the answer: they go to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            import quilt3
            import quilt3.hooks

            quilt3.hooks.set_build_s3_client_hook(build_s3_client_hook)
            answer = args.fn(quilt3, args)
    except BaseException as e:  # noqa: BLE001 - every failure is reported the same way
        sys.stderr.write(
            json.dumps(
                {
                    "error": f"{type(e).__name__}: {e}",
                    "type": type(e).__name__,
                    "trace": "" if isinstance(e, UsageError) else traceback.format_exc(),
                }
            )
            + "\n"
        )
        sys.stderr.flush()
        return 1
    # ASCII-only JSON: the bytes do not depend on the locale; JSON.parse restores every character.
    out.write(json.dumps(answer) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
