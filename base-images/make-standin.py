#!/usr/bin/env python3
"""Writes base-images/standin/: a tiny, deterministic stand-in for public.ecr.aws/lambda/python:3.12.

It is NOT a usable runtime: there is no Python and no shell in it. It mirrors the real base's *config*
(Entrypoint /lambda-entrypoint.sh, Env, WorkingDir /var/task, no Cmd, no history) and ships a
/lambda-entrypoint.sh with the real one's argument contract (exactly one argument, else exit 142),
so lamina can be built, tested and demonstrated offline. Facts: shared/docs/lambda-ecr-facts.md §5-6.

Tags in the layout:
  python3.12         an OCI image index with linux/amd64 and linux/arm64 images (like the real tag)
  python3.12-docker  a Docker v2s2 manifest (linux/amd64), the media types AWS's bases use

Usage: python3 make-standin.py [OUTPUT_DIR]   (default: standin/ next to this script)
Only the standard library is used; the output is byte-identical on every run (fixed mtimes, sorted
entries, gzip without name or time).
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile

ENTRYPOINT = """#!/bin/sh
# lamina stand-in for AWS's /lambda-entrypoint.sh: the same argument contract.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"

RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie $RUNTIME_ENTRYPOINT
else
  exec $RUNTIME_ENTRYPOINT
fi
"""

NOTE = """This is lamina's stand-in for public.ecr.aws/lambda/python:3.12.
It has the real base's config and entrypoint contract but no Python and no shell.
Build on the real base (or pull it with lamina) for anything that must run.
"""

ENV = [
    "LANG=en_US.UTF-8",
    "TZ=:/etc/localtime",
    "PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
    "LAMBDA_TASK_ROOT=/var/task",
    "LAMBDA_RUNTIME_DIR=/var/runtime",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def layer_tar():
    entries = [
        ("etc", "dir", 0o755, None),
        ("lambda-entrypoint.sh", "file", 0o755, ENTRYPOINT.encode()),
        ("opt", "dir", 0o755, None),
        ("STANDIN-README.txt", "file", 0o644, NOTE.encode()),
        ("tmp", "dir", 0o1777, None),
        ("var", "dir", 0o755, None),
        ("var/lang", "dir", 0o755, None),
        ("var/lang/bin", "dir", 0o755, None),
        ("var/runtime", "dir", 0o755, None),
        ("var/task", "dir", 0o755, None),
    ]
    entries.sort(key=lambda e: e[0])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, kind, mode, data in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime, info.uid, info.gid, info.uname, info.gname = mode, 0, 0, 0, "", ""
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gz(data):
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=out, mtime=0) as f:
        f.write(data)
    return out.getvalue()


class Layout:
    def __init__(self, root):
        self.root = root
        self.index = []
        os.makedirs(os.path.join(root, "blobs", "sha256"))

    def blob(self, data, media_type, **extra):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.root, "blobs", "sha256", digest), "wb") as f:
            f.write(data)
        d = {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}
        d.update(extra)
        return d

    def finish(self):
        with open(os.path.join(self.root, "oci-layout"), "wb") as f:
            f.write(canonical({"imageLayoutVersion": "1.0.0"}))
        with open(os.path.join(self.root, "index.json"), "wb") as f:
            f.write(canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.index}))


def config(arch, tar):
    cfg = {
        "architecture": arch,
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {"Entrypoint": ["/lambda-entrypoint.sh"], "Env": ENV, "WorkingDir": "/var/task"},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]},
    }
    if arch == "arm64":
        cfg["variant"] = "v8"
    return canonical(cfg)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "standin")
    if os.path.exists(out):
        shutil.rmtree(out)
    layout = Layout(out)
    tar = layer_tar()
    gzipped = gz(tar)
    ref = "org.opencontainers.image.ref.name"

    images = []
    for arch in ("amd64", "arm64"):
        cfg = layout.blob(config(arch, tar), OCI_CONFIG)
        layer = layout.blob(gzipped, OCI_LAYER)
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg, "layers": [layer]}
        platform = {"architecture": arch, "os": "linux"}
        if arch == "arm64":
            platform["variant"] = "v8"
        images.append(layout.blob(canonical(manifest), OCI_MANIFEST, platform=platform))
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": images}
    layout.index.append(layout.blob(canonical(index), OCI_INDEX, annotations={ref: "python3.12"}))

    cfg = layout.blob(config("amd64", tar), DOCKER_CONFIG)
    layer = layout.blob(gzipped, DOCKER_LAYER)
    manifest = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": cfg, "layers": [layer]}
    layout.index.append(layout.blob(canonical(manifest), DOCKER_MANIFEST, annotations={ref: "python3.12-docker"}))
    layout.finish()
    print(out)


if __name__ == "__main__":
    main()
