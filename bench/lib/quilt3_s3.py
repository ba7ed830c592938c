"""quilt3's half of the S3 bench (bench/s3.mjs): one push or one install per process, against an
S3-compatible server (versitygw) given by AWS_ENDPOINT_URL_S3, with the credentials of
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Prints one JSON line on stdout; quilt3's own output
goes to stderr.

  quilt3_s3.py push    NAME DIR s3://BUCKET MESSAGE
  quilt3_s3.py install NAME s3://BUCKET DEST

The client hook is the one of test/helpers/quilt3_driver.py: endpoint, path-style addressing, the
region; it refuses to build a client without an endpoint, so the bench can never reach AWS.
quilt3's own defaults otherwise (QUILT_TRANSFER_MAX_CONCURRENCY: 10 threads).
"""

import contextlib
import json
import os
import sys

os.environ.setdefault("QUILT_DISABLE_USAGE_METRICS", "true")
os.environ.setdefault("QUILT_MINIMIZE_STDOUT", "true")
os.environ.setdefault("QUILT_DISABLE_CACHE", "true")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


def build_s3_client_hook(build_client_base, session, client_kwargs, **kwargs):
    from botocore.config import Config

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3")
    if not endpoint:
        raise RuntimeError("quilt3_s3.py: no AWS_ENDPOINT_URL_S3; refusing to talk to AWS")
    config = (client_kwargs.get("config") or Config()).merge(Config(s3={"addressing_style": "path"}))
    region = os.environ.get("AWS_REGION") or "us-east-1"
    return build_client_base(session, {**client_kwargs, "config": config, "endpoint_url": endpoint, "region_name": region}, **kwargs)


def main(argv):
    command = argv[0]
    with contextlib.redirect_stdout(sys.stderr):
        import quilt3
        import quilt3.hooks

        quilt3.hooks.set_build_s3_client_hook(build_s3_client_hook)
        if command == "push":
            name, directory, registry, message = argv[1:5]
            pkg = quilt3.Package()
            pkg.set_dir(".", directory)
            answer = {"top_hash": pkg.push(name, registry=registry, message=message).top_hash}
        elif command == "install":
            name, registry, dest = argv[1:4]
            quilt3.Package.install(name, registry=registry, dest=dest)
            answer = {"dest": dest}
        else:
            raise SystemExit(f"unknown command {command}")
    print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
