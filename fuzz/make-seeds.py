#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from the repository's real files
(fixtures/, examples/, base-images/standin) plus a few hand-written cases per format.
Run from the repository root. Seeds are named seed-*; libFuzzer's own files (sha1 names) and
crashers (crash-*) kept in the corpus are left alone."""
import glob, gzip, hashlib, io, os, re, tarfile, zipfile

ROOT = os.getcwd()
OUT = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def rd(p):
    with open(os.path.join(ROOT, p), "rb") as f:
        return f.read()


wheels = sorted(glob.glob("fixtures/wheels/**/*.whl", recursive=True))
small = ["fixtures/wheels/parity/python_dotenv-1.0.1-py3-none-any.whl",
         "fixtures/wheels/parity/jmespath-1.0.1-py3-none-any.whl"]

# wheel_name
for i, w in enumerate(sorted({os.path.basename(w) for w in wheels})):
    put("wheel_name", f"{i}", os.path.basename(w))
put("wheel_name", "build-tag", "foo_bar-1.0.post1-1local-cp39.cp310-abi3-manylinux_2_28_aarch64.linux_aarch64.whl")

# metadata, record: the text files of every fixture wheel (one copy per distinct content)
seen = set()
for w in wheels:
    z = zipfile.ZipFile(w)
    for n in z.namelist():
        base = n.split("/")[-1]
        kind = {"METADATA": "metadata", "RECORD": "record", "entry_points.txt": "record"}.get(base)
        if kind and ".dist-info/" in n:
            data = z.read(n)
            h = hashlib.sha1(data).hexdigest()[:10]
            if h in seen:
                continue
            seen.add(h)
            if base == "METADATA" and b"\n\n" in data:
                data = data[: data.index(b"\n\n") + 200]  # the headers are what is parsed
            if len(data) > 12_000:
                data = data[:12_000]
            put(kind, f"{base}-{h}", data)
        if n.endswith(".so") and "x86_64" in w and "elf-x86_64" not in seen and len(z.read(n)) < 60_000:
            seen.add("elf-x86_64")
            put("elf", "x86_64-" + base, z.read(n))
        if n.endswith(".so") and "aarch64" in w and "elf-aarch64" not in seen and len(z.read(n)) < 60_000:
            seen.add("elf-aarch64")
            put("elf", "aarch64-" + base, z.read(n))
markers = [
    'python_version >= "3.8" and (platform_machine == "x86_64" or sys_platform == "win32")',
    "extra == 'socks' or 'socks' in extras",
    'implementation_name == "cpython" and python_full_version < "3.13.0" and not_a_var == "x"',
    "'dev' not in dependency_groups",
    "((((python_version > '3'))))",
]
for i, m in enumerate(markers):
    put("metadata", f"marker-{i}", m)
    put("metadata", f"requires-dist-{i}", f"Metadata-Version: 2.1\nName: x\nVersion: 1\nRequires-Python: >=3.8, !=3.9.*, <4\nRequires-Dist: requests[socks] (>=2.0) ; {m}\n\nbody\n")

# wheel_zip: two small real wheels, and a hostile one
for w in small:
    put("wheel_zip", os.path.basename(w), rd(w))
b = io.BytesIO()
with zipfile.ZipFile(b, "w") as z:
    z.writestr("evil-1.dist-info/METADATA", "Metadata-Version: 2.1\nName: evil\nVersion: 1\n")
    z.writestr("evil-1.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
    z.writestr("evil-1.dist-info/RECORD", "evil/__init__.py,sha256=AAAA,3\n../x,,\n")
    z.writestr("evil-1.data/scripts/run", "#!python\nprint(1)\n")
    z.writestr("evil/__init__.py", "x=1")
put("wheel_zip", "evil-1-py3-none-any.whl", b.getvalue())


# layer_tar: small tars as the bases have them (plain and gzip)
def tar_bytes(entries, gz):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            elif kind == "sym":
                ti.type = tarfile.SYMTYPE
                ti.linkname = arg
                t.addfile(ti)
            elif kind == "link":
                ti.type = tarfile.LNKTYPE
                ti.linkname = arg
                t.addfile(ti)
            else:
                data = arg.encode()
                ti.size = len(data)
                ti.mode = 0o755 if name.endswith("bootstrap") else 0o644
                t.addfile(ti, io.BytesIO(data))
    raw = b.getvalue()
    return gzip.compress(raw, mtime=0) if gz else raw


base = [
    ("var", "dir", None), ("var/lang", "dir", None), ("var/lang/lib", "dir", None),
    ("var/lang/lib/python3.12", "dir", None),
    ("var/lang/lib/python3.12/os.py", "file", "import sys\n"),
    ("var/lang/lib/python3.12/json", "dir", None),
    ("var/lang/lib/python3.12/json/__init__.py", "file", "x = 1\n"),
    ("var/runtime", "dir", None), ("var/runtime/bootstrap", "file", "#!/bin/sh\n"),
    ("var/lang/bin", "dir", None), ("var/lang/bin/python3", "sym", "python3.12"),
    ("var/lang/bin/python3.12", "file", "\x7fELF"),
]
put("layer_tar", "base.tar", tar_bytes(base, False))
put("layer_tar", "base.tar.gz", tar_bytes(base, True))
upper = [
    ("var/lang/lib/python3.12/.wh.json", "file", ""),
    ("var/lang/lib/python3.12/.wh..wh..opq", "file", ""),
    ("var/lang/lib/python3.12/os2.py", "link", "var/lang/lib/python3.12/os.py"),
    ("var/lang/lib/python3.12/evil", "sym", "/etc/passwd"),
    ("var/lang/lib/python3.12/../../../../escape.py", "file", "x"),
    ("opt/python/orphan.py", "file", "x"),
    ("opt/python/orphan.py", "file", "y"),
]
put("layer_tar", "upper.tar", tar_bytes(upper, False))
for f in glob.glob("base-images/standin/blobs/sha256/*"):
    if rd(f)[:2] == b"\x1f\x8b":
        put("layer_tar", "standin-" + os.path.basename(f)[:12] + ".tar.gz", rd(f))

# oci_layout: the stand-in base's own index/manifest/config, with digests as placeholders
blobs = {os.path.basename(f): rd(f) for f in glob.glob("base-images/standin/blobs/sha256/*")}
index = rd("base-images/standin/index.json").decode()
import json
for i, m in enumerate(json.loads(index)["manifests"]):
    mbytes = blobs[m["digest"].split(":")[1]]
    mj = json.loads(mbytes)
    if "manifests" in mj:  # nested index: follow its first entry
        inner = mj["manifests"][0]
        mj2 = json.loads(blobs[inner["digest"].split(":")[1]])
        nested = json.loads(mbytes)
        nested["manifests"] = [dict(inner, digest="@M@", size="@MS@")]
        mj = mj2
        top = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": [dict(m, digest="@M@", size="@MS@")]}
        # the top index points at the nested index, which points at the manifest: only one
        # placeholder pair exists, so keep the single-level form here
    cfg = blobs[mj["config"]["digest"].split(":")[1]]
    mj["config"]["digest"] = "@C@"
    mj["config"]["size"] = "@CS@"
    top = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": [dict(m, digest="@M@", size="@MS@")]}
    if "manifests" in json.loads(mbytes):
        top["manifests"][0]["mediaType"] = mj.get("mediaType", "application/vnd.oci.image.manifest.v1+json")
        top["manifests"][0]["platform"] = {"os": "linux", "architecture": "amd64"}
    text = json.dumps(top) + "\n----\n" + json.dumps(mj) + "\n----\n" + cfg.decode()
    text = text.replace('"@MS@"', "@MS@").replace('"@CS@"', "@CS@")
    put("oci_layout", f"standin-{i}", text)

# reference
refs = ["public.ecr.aws/lambda/python:3.12", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1",
        "localhost:5000/a/b@sha256:" + "a" * 64, "docker://ghcr.io/o/r:latest", "oci:build/image:latest",
        "docker-archive:out.tar:app:v1", "[::1]:5000/x:y", "python:3.12", "oci:dir",
        "registry.example:443/a/b/c:t@sha256:" + "0" * 64]
for i, r in enumerate(refs):
    put("reference", f"{i}", r)

# www_authenticate
for i, h in enumerate([
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/python:pull"',
        'Basic realm="Registry Realm"',
        'Bearer realm="https://x/t",error="invalid_token",scope="a,b c"',
        'bearer realm=unquoted, service="s\\"q"', "user:pa:ss"]):
    put("www_authenticate", f"{i}", h)

# dockerignore
for f in glob.glob("examples/*/.dockerignore"):
    put("dockerignore", f.split("/")[1], rd(f) + b"\n----\nsrc/a.py\nnode_modules/x\n.git/HEAD\ntests/t.py\n")
put("dockerignore", "patterns", "**/*.pyc\n!keep/**\n/abs\n[a-c]?/*.md\n\\#literal\n**\n")

# lamina_toml
for f in glob.glob("examples/*/lamina.toml"):
    put("lamina_toml", f.split("/")[1], rd(f))

# pylock (from src/lock/pylock.rs's test, the format uv writes)
src = rd("src/lock/pylock.rs").decode()
m = re.search(r'const LOCK: &str = r#"(.*?)"#;', src, re.S)
put("pylock", "uv", m.group(1))
put("pylock", "environments", 'lock-version = "1.0"\nenvironments = ["sys_platform == \'linux\'"]\ndefault-groups = ["dev"]\n[[packages]]\nname = "six"\nversion = "1.16.0"\nmarker = "\'dev\' in dependency_groups"\nrequires-python = ">=3.8"\n[packages.vcs]\ntype = "git"\n')

# requirements
for f in glob.glob("examples/*/requirements.txt"):
    put("requirements", f.split("/")[1], rd(f))
put("requirements", "hashed",
    "# comment\n--index-url https://${TOKEN}@pypi.example/simple\n--extra-index-url https://x/simple\n"
    "jmespath==1.0.1 \\\n    --hash=sha256:" + "0" * 64 + " \\\n    --hash=sha256:" + "1" * 64 + "\n"
    "six==1.16.0 ; python_version >= '3.8' --hash=sha256:" + "2" * 64 + "\n"
    "local @ https://x/local-1-py3-none-any.whl#sha256=" + "3" * 64 + "\n-e .\n")

# serverless
for f in glob.glob("examples/*/serverless.yml") + glob.glob("examples/*/sls/*/*.yml"):
    put("serverless", f.replace("/", "_"), rd(f))
put("serverless", "anchors",
    "service: s\nprovider:\n  name: aws\n  stage: ${opt:stage, 'dev'}\n  ecr:\n    images:\n      app:\n        path: .\n"
    "base: &b\n  image:\n    name: app\n    command: [\"a.b\"]\nfunctions:\n  f:\n    <<: *b\n  g: *b\n"
    "custom:\n  x: ${self:custom.y}\n  y: !Ref Thing\n")

# dockerfile
for f in glob.glob("examples/*/Dockerfile"):
    put("dockerfile", f.split("/")[1], rd(f))
put("dockerfile", "heredoc",
    "# syntax=docker/dockerfile:1\nARG PY=3.12\nFROM public.ecr.aws/lambda/python:${PY}\nENV A=1 B=\"two words\"\n"
    "COPY --chown=1:1 src/ ${LAMBDA_TASK_ROOT}/\nRUN pip install -r requirements.txt -t . && \\\n    echo ok\n"
    "RUN <<EOF\npip install x\nEOF\nWORKDIR /var/task\nCMD [\"app.handler\"]\n")

# python_source
for f in sorted(glob.glob("examples/*/src/**/*.py", recursive=True)):
    if os.path.getsize(f):
        put("python_source", f.replace("/", "_"), rd(f))
put("python_source", "guards",
    "# -*- coding: latin-1 -*-\nimport sys, os.path as p\nfrom . import x\nfrom ..a import (b, c)\n"
    "try:\n    import ujson as json\nexcept ImportError:\n    import json\nif sys.version_info >= (3, 11):\n"
    "    import tomllib\nelse:\n    import tomli as tomllib\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
    "    import boto3\nsys.path.insert(0, 'vendor')\nimportlib = __import__('importlib')\n"
    "def handler(event, context):\n    import requests\n    return [x for x in (lambda: 1)()]\n"
    "match event:\n    case {'a': 1}:\n        pass\ntype T[X] = list[X]\nf = f'{event!r:>{10}}'\n"
    "def __getattr__(name):\n    raise AttributeError(name)\n")

# index_simple
put("index_simple", "pep691.json",
    '{"meta":{"api-version":"1.1"},"name":"six","files":[{"filename":"six-1.16.0-py2.py3-none-any.whl",'
    '"url":"../../packages/six-1.16.0-py2.py3-none-any.whl","hashes":{"sha256":"' + "a" * 64 + '"},'
    '"requires-python":">=2.7","yanked":false,"core-metadata":{"sha256":"' + "b" * 64 + '"}},'
    '{"filename":"six-1.16.0.tar.gz","url":"https://f/six-1.16.0.tar.gz","hashes":{},"yanked":"broken"}]}')
put("index_simple", "pep503.html",
    '<!DOCTYPE html><html><body><a href="https://f/six-1.16.0-py2.py3-none-any.whl#sha256=' + "a" * 64 +
    '" data-requires-python="&gt;=2.7" data-yanked="">six-1.16.0-py2.py3-none-any.whl</a>\n'
    '<a href="/p/six-1.15.0.tar.gz">six-1.15.0.tar.gz</a><A HREF=\'x.whl\'>x</A></body></html>')
