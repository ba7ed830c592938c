"""Reference answers for src/storage/physical-key.test.ts, computed by Python itself.

Reads a JSON request on stdin:
    {"urls": [url, ...], "keys": [[bucket, path, version_id_or_null], ...], "paths": [path, ...]}
and prints, for each item, {"ok": ...} or {"error": "<exception type>"}:
    urls  -> PhysicalKey.from_url(url), as [bucket_or_null, path, version_id_or_null], plus "str"
    keys  -> str(PhysicalKey(bucket, path, version_id))
    paths -> PhysicalKey.from_path(path), as above, plus "str"

The PhysicalKey used is quilt3 8.0.0's own (quilt3/util.py) when quilt3 is importable, as in CI;
otherwise `SpecPhysicalKey` below, written from spec section 4.5 with the same stdlib calls.
The "engine" field of the answer says which one ran.

Around either one sit the rules by which Quiltkit deliberately departs from quilt3 (see the header
of src/storage/physical-key.ts); they are applied here explicitly so that the test compares like
with like, and each is marked QUILTKIT RULE.
"""

import json
import os
import pathlib
import sys
from urllib.parse import parse_qs, quote, unquote, urlencode, urlparse, urlunparse


class SpecPhysicalKey:
    """quilt3's PhysicalKey as spec section 4.5 describes it (POSIX only)."""

    def __init__(self, bucket, path, version_id):
        self.bucket = bucket
        self.path = path
        self.version_id = version_id

    @classmethod
    def from_url(cls, url):
        parts = urlparse(url)
        if parts.scheme == "s3":
            if not parts.netloc:
                raise ValueError("no bucket")
            query = parse_qs(parts.query)
            version_id = query.pop("versionId", [None])[0]
            if query:
                raise ValueError("unexpected query")
            return cls(parts.netloc, unquote(parts.path)[1:], version_id)
        if parts.scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise ValueError("host")
            if not parts.path or not parts.path.startswith("/"):
                raise ValueError("no absolute path")
            if parts.query:
                raise ValueError("query")
            return cls.from_path(unquote(parts.path))  # url2pathname is unquote on POSIX
        raise ValueError("scheme")

    @classmethod
    def from_path(cls, path):
        resolved = os.path.realpath(path)
        return cls(None, resolved + "/" if path.endswith("/") else resolved, None)

    def __str__(self):
        if self.bucket is None:
            return pathlib.PurePath(self.path).as_uri()
        query = urlencode({"versionId": self.version_id}) if self.version_id is not None else ""
        return urlunparse(("s3", self.bucket, quote("/" + self.path), None, query, None))


try:
    from quilt3.util import PhysicalKey

    ENGINE = "quilt3"
except ImportError:
    PhysicalKey = SpecPhysicalKey
    ENGINE = "spec"


class Refused(Exception):
    pass


def has_lone_surrogate(text):
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def check_local_path(path):
    # QUILTKIT RULE: local paths with NUL, '\' or unpaired surrogates are refused.
    if "\0" in path or "\\" in path or has_lone_surrogate(path):
        raise Refused()


def check_url(url):
    try:
        parts = urlparse(url)
    except ValueError:
        return  # Python refuses it too
    # QUILTKIT RULE: no '[' or ']' in the host part.
    if "[" in parts.netloc or "]" in parts.netloc:
        raise Refused()
    if parts.scheme == "file":
        check_local_path(unquote(parts.path))


def check_bucket(bucket):
    # QUILTKIT RULE: a bucket is printed only if s3://<bucket>/ parses back to it.
    if not bucket or "[" in bucket or "]" in bucket:
        raise Refused()
    try:
        if urlparse("s3://" + bucket + "/").netloc != bucket:
            raise Refused()
    except ValueError:
        raise Refused()


def key_str(key):
    if key.bucket is not None:
        check_bucket(key.bucket)
        if key.version_id == "":
            # QUILTKIT RULE (spec 4.5, `if vid`): quilt3 8.0.0 prints '?versionId=' here.
            key = PhysicalKey(key.bucket, key.path, None)
    else:
        check_local_path(key.path)
    return str(key)


def answer(compute):
    try:
        return {"ok": compute()}
    except Exception as error:  # each failure is an answer, not a crash
        return {"error": type(error).__name__}


def described(key):
    result = {"ok": [key.bucket, key.path, key.version_id]}
    result["str"] = answer(lambda: key_str(key))
    return result


def parse_url(url):
    try:
        check_url(url)
        return described(PhysicalKey.from_url(url))
    except Exception as error:
        return {"error": type(error).__name__}


def from_path(path):
    try:
        check_local_path(path)
        return described(PhysicalKey.from_path(path))
    except Exception as error:
        return {"error": type(error).__name__}


def main():
    request = json.load(sys.stdin)
    reply = {
        "engine": ENGINE,
        "urls": [parse_url(url) for url in request["urls"]],
        "keys": [answer(lambda b=b, p=p, v=v: key_str(PhysicalKey(b, p, v))) for b, p, v in request["keys"]],
        "paths": [from_path(path) for path in request["paths"]],
    }
    json.dump(reply, sys.stdout)


if __name__ == "__main__":
    main()
