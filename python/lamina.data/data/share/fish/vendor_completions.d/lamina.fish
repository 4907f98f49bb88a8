# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_lamina_global_optspecs
    string join \n h/help V/version
end

function __fish_lamina_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_lamina_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_lamina_using_subcommand
    set -l cmd (__fish_lamina_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c lamina -n "__fish_lamina_needs_command" -s h -l help -d 'Print help'
complete -c lamina -n "__fish_lamina_needs_command" -s V -l version -d 'Print version'
complete -c lamina -n "__fish_lamina_needs_command" -f -a "build" -d 'Build the image described by lamina.toml (and flags); write it to --output and/or --push it'
complete -c lamina -n "__fish_lamina_needs_command" -f -a "check" -d 'Run every Lambda check of a build (handlers, binaries, dependencies, image rules) and print the size report, without writing or pushing anything'
complete -c lamina -n "__fish_lamina_needs_command" -f -a "pull" -d 'Pull an image (manifest, config and layers) into lamina\'s cache, for offline builds'
complete -c lamina -n "__fish_lamina_needs_command" -f -a "init" -d 'Write lamina.toml from the project\'s Dockerfile, serverless.yml (functions, ECR resource) and lock, reporting every line it could not translate'
complete -c lamina -n "__fish_lamina_needs_command" -f -a "verify" -d 'Rebuild from the inputs with no cache at all (local or remote) and compare with a published image (REPO@sha256:…, REPO:TAG or oci:DIR:TAG): exit 0 only if the digests are equal'
complete -c lamina -n "__fish_lamina_needs_command" -f -a "completions" -d 'Print shell completions for lamina (bash, zsh, fish, powershell, elvish), e.g. `lamina completions bash > ~/.local/share/bash-completion/completions/lamina`'
complete -c lamina -n "__fish_lamina_needs_command" -f -a "man" -d 'Print lamina\'s man page (roff), or write one page per subcommand with --out DIR'
complete -c lamina -n "__fish_lamina_needs_command" -f -a "sbom" -d 'Print the SBOM attached to a registry image (REPO:TAG or REPO@sha256:…), as stored'
complete -c lamina -n "__fish_lamina_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lamina -n "__fish_lamina_using_subcommand build" -s C -l project-dir -d 'Project directory holding lamina.toml; relative paths are taken from here' -r -F
complete -c lamina -n "__fish_lamina_using_subcommand build" -l base -d 'Base image: oci:DIR[:TAG] or a registry reference (public.ecr.aws/lambda/python:3.12)' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l src -d 'Directory to copy to /var/task/DIR (`.` copies the project into /var/task). Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l handler -d 'Handler (module.function). Repeatable: the first is the image\'s Cmd' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l handlers-from -d 'Also every handler of the serverless.yml functions that deploy this image (image.command, following ${file()} includes); the handlers listed with --handler / handler come first' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l env -d 'Environment variable for the image. Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l label -d 'Image label. Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l platform -d 'linux/amd64 (Lambda\'s x86_64) or linux/arm64' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -s o -l output -d 'Where to write the image: oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG]' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l push -d 'Push to this registry repository (REPO[:TAG]); stdout is then REPO@sha256:…' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l tag -d 'Another tag for the pushed image. Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l cache-repo -d 'Repository of the remote layer cache (cache_repo; default: the --push repository)' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l wheels -d 'Directory of vendored wheels to install into /var/task as one dependency layer' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l lock -d 'Lock file for the dependency layer: pylock.toml (PEP 751) or a hash-pinned requirements.txt. With --wheels too, that directory supplies the lock\'s files (checked against its hashes)' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l index-url -d 'Package index (simple API) for a requirements lock. Default: the file\'s --index-url, then UV_DEFAULT_INDEX / PIP_INDEX_URL, then PyPI' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l extra-index-url -d 'Another index to look in (also PIP_EXTRA_INDEX_URL, UV_INDEX). Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l python -d 'The base\'s CPython version (when the catalog does not know the base), e.g. 3.12' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l glibc -d 'The base\'s glibc version (when the catalog does not know the base), e.g. 2.34' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l allow-bad-record -d 'Install this project\'s wheel even if its RECORD is wrong or incomplete. Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l max-unpacked-size -d 'Refuse wheels that unpack to more than this (default 10G, Lambda\'s image limit)' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l scan-on-push -d 'ECR scan on push for a repository lamina creates ([ecr] scan_on_push)' -r -f -a "true\t''
false\t''"
complete -c lamina -n "__fish_lamina_using_subcommand build" -l tag-mutability -d 'MUTABLE or IMMUTABLE tags for a repository lamina creates ([ecr] tag_mutability)' -r -f -a "MUTABLE\t''
IMMUTABLE\t''"
complete -c lamina -n "__fish_lamina_using_subcommand build" -l keep-last -d 'Lifecycle policy: keep the last N images ([ecr] keep_last)' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l expire -d 'Which images the lifecycle policy counts: untagged (safe, default) or any ([ecr] expire)' -r -f -a "untagged\t''
any\t''"
complete -c lamina -n "__fish_lamina_using_subcommand build" -l compile-workers -d 'Interpreter processes compiling bytecode at once (default: one per core)' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l compile-timeout -d 'Seconds the base\'s interpreter may take to start, and to compile one module, before the build fails naming the module (a base whose Python hangs never hangs the build)' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l sbom-format -d 'The SBOM\'s format: spdx (SPDX 2.3 JSON, the default) or cyclonedx (CycloneDX 1.6 JSON); sbom_format in lamina.toml' -r -f -a "spdx\t''
cyclonedx\t''"
complete -c lamina -n "__fish_lamina_using_subcommand build" -l sbom -d 'Also write the image\'s SBOM to FILE' -r -F
complete -c lamina -n "__fish_lamina_using_subcommand build" -l provenance -d 'Also write the image\'s provenance (an in-toto statement, SLSA provenance v1) to FILE' -r -F
complete -c lamina -n "__fish_lamina_using_subcommand build" -l missing-deps -d 'Dependencies missing from the wheels: error (default) or warn' -r -f -a "error\t''
warn\t''"
complete -c lamina -n "__fish_lamina_using_subcommand build" -l format -d 'Output format on stdout: text (the digest or REPO@sha256:…) or json (digest, tags, sizes, layers)' -r -f -a "text\t''
json\t''"
complete -c lamina -n "__fish_lamina_using_subcommand build" -l creds -d 'Credentials for the registry pushed to (or pulled from, for `pull`): USER:PASSWORD. Without it, ~/.docker/config.json, $REGISTRY_AUTH_FILE and podman\'s auth.json are read' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l insecure-registry -d 'Allow plain http to this registry (loopback always is). Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l registry-endpoint -d 'Send HOST\'s registry traffic to URL, naming and authenticating it as HOST (e.g. an ECR host to http://127.0.0.1:5000). Repeatable; also LAMINA_REGISTRY_ENDPOINTS=HOST=URL,…' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l timeout -d 'Give up on a registry that makes no progress: connecting, waiting for an answer, or a request that takes longer than this (plus time for its bytes at 16 KiB/s). 30s, 2m, 90' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l profile -d 'AWS profile for ECR registries (else AWS_PROFILE, else the default chain)' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l region -d 'AWS region for ECR (must match the registry host\'s; by default taken from it)' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l chunk-size -d 'Upload blobs in PATCH chunks of SIZE instead of one monolithic PUT' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l parallel -d 'Blob uploads in flight at once' -r
complete -c lamina -n "__fish_lamina_using_subcommand build" -l force -d 'Replace an existing --output file even if it is not a docker-archive'
complete -c lamina -n "__fish_lamina_using_subcommand build" -l no-remote-cache -d 'Neither look layers up in nor record them to the remote layer cache'
complete -c lamina -n "__fish_lamina_using_subcommand build" -l offline -d 'Never download: every locked wheel (and index page) must already be in the cache'
complete -c lamina -n "__fish_lamina_using_subcommand build" -l allow-linux-tag -d 'Accept linux_<arch> wheels (locally built, no manylinux glibc promise) for the dependency layer'
complete -c lamina -n "__fish_lamina_using_subcommand build" -l create-repository -d 'Create the ECR repository if it is missing ([ecr] create)'
complete -c lamina -n "__fish_lamina_using_subcommand build" -l import-check -d 'Also import each handler module with a python3.X of the target\'s version (only the image\'s /var/task and the standard library on sys.path). Runs module-level code'
complete -c lamina -n "__fish_lamina_using_subcommand build" -l deny-unverified -d 'Fail (exit 1, nothing written or pushed) when something cannot be verified, as for an error; unverified = "error" in lamina.toml'
complete -c lamina -n "__fish_lamina_using_subcommand build" -l no-compile-bytecode -d 'Ship no bytecode (no `__pycache__/*.pyc` beside the modules); compile_bytecode = false'
complete -c lamina -n "__fish_lamina_using_subcommand build" -l no-attest -d 'Push no SBOM or provenance with the image (they are attached as OCI referrers by default; attest = false). For verify: check the image alone'
complete -c lamina -n "__fish_lamina_using_subcommand build" -s h -l help -d 'Print help'
complete -c lamina -n "__fish_lamina_using_subcommand check" -s C -l project-dir -d 'Project directory holding lamina.toml; relative paths are taken from here' -r -F
complete -c lamina -n "__fish_lamina_using_subcommand check" -l base -d 'Base image: oci:DIR[:TAG] or a registry reference (public.ecr.aws/lambda/python:3.12)' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l src -d 'Directory to copy to /var/task/DIR (`.` copies the project into /var/task). Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l handler -d 'Handler (module.function). Repeatable: the first is the image\'s Cmd' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l handlers-from -d 'Also every handler of the serverless.yml functions that deploy this image (image.command, following ${file()} includes); the handlers listed with --handler / handler come first' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l env -d 'Environment variable for the image. Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l label -d 'Image label. Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l platform -d 'linux/amd64 (Lambda\'s x86_64) or linux/arm64' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -s o -l output -d 'Where to write the image: oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG]' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l push -d 'Push to this registry repository (REPO[:TAG]); stdout is then REPO@sha256:…' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l tag -d 'Another tag for the pushed image. Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l cache-repo -d 'Repository of the remote layer cache (cache_repo; default: the --push repository)' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l wheels -d 'Directory of vendored wheels to install into /var/task as one dependency layer' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l lock -d 'Lock file for the dependency layer: pylock.toml (PEP 751) or a hash-pinned requirements.txt. With --wheels too, that directory supplies the lock\'s files (checked against its hashes)' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l index-url -d 'Package index (simple API) for a requirements lock. Default: the file\'s --index-url, then UV_DEFAULT_INDEX / PIP_INDEX_URL, then PyPI' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l extra-index-url -d 'Another index to look in (also PIP_EXTRA_INDEX_URL, UV_INDEX). Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l python -d 'The base\'s CPython version (when the catalog does not know the base), e.g. 3.12' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l glibc -d 'The base\'s glibc version (when the catalog does not know the base), e.g. 2.34' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l allow-bad-record -d 'Install this project\'s wheel even if its RECORD is wrong or incomplete. Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l max-unpacked-size -d 'Refuse wheels that unpack to more than this (default 10G, Lambda\'s image limit)' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l scan-on-push -d 'ECR scan on push for a repository lamina creates ([ecr] scan_on_push)' -r -f -a "true\t''
false\t''"
complete -c lamina -n "__fish_lamina_using_subcommand check" -l tag-mutability -d 'MUTABLE or IMMUTABLE tags for a repository lamina creates ([ecr] tag_mutability)' -r -f -a "MUTABLE\t''
IMMUTABLE\t''"
complete -c lamina -n "__fish_lamina_using_subcommand check" -l keep-last -d 'Lifecycle policy: keep the last N images ([ecr] keep_last)' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l expire -d 'Which images the lifecycle policy counts: untagged (safe, default) or any ([ecr] expire)' -r -f -a "untagged\t''
any\t''"
complete -c lamina -n "__fish_lamina_using_subcommand check" -l compile-workers -d 'Interpreter processes compiling bytecode at once (default: one per core)' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l compile-timeout -d 'Seconds the base\'s interpreter may take to start, and to compile one module, before the build fails naming the module (a base whose Python hangs never hangs the build)' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l sbom-format -d 'The SBOM\'s format: spdx (SPDX 2.3 JSON, the default) or cyclonedx (CycloneDX 1.6 JSON); sbom_format in lamina.toml' -r -f -a "spdx\t''
cyclonedx\t''"
complete -c lamina -n "__fish_lamina_using_subcommand check" -l sbom -d 'Also write the image\'s SBOM to FILE' -r -F
complete -c lamina -n "__fish_lamina_using_subcommand check" -l provenance -d 'Also write the image\'s provenance (an in-toto statement, SLSA provenance v1) to FILE' -r -F
complete -c lamina -n "__fish_lamina_using_subcommand check" -l missing-deps -d 'Dependencies missing from the wheels: error (default) or warn' -r -f -a "error\t''
warn\t''"
complete -c lamina -n "__fish_lamina_using_subcommand check" -l format -d 'Output format on stdout: text (the digest or REPO@sha256:…) or json (digest, tags, sizes, layers)' -r -f -a "text\t''
json\t''"
complete -c lamina -n "__fish_lamina_using_subcommand check" -l creds -d 'Credentials for the registry pushed to (or pulled from, for `pull`): USER:PASSWORD. Without it, ~/.docker/config.json, $REGISTRY_AUTH_FILE and podman\'s auth.json are read' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l insecure-registry -d 'Allow plain http to this registry (loopback always is). Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l registry-endpoint -d 'Send HOST\'s registry traffic to URL, naming and authenticating it as HOST (e.g. an ECR host to http://127.0.0.1:5000). Repeatable; also LAMINA_REGISTRY_ENDPOINTS=HOST=URL,…' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l timeout -d 'Give up on a registry that makes no progress: connecting, waiting for an answer, or a request that takes longer than this (plus time for its bytes at 16 KiB/s). 30s, 2m, 90' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l profile -d 'AWS profile for ECR registries (else AWS_PROFILE, else the default chain)' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l region -d 'AWS region for ECR (must match the registry host\'s; by default taken from it)' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l chunk-size -d 'Upload blobs in PATCH chunks of SIZE instead of one monolithic PUT' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l parallel -d 'Blob uploads in flight at once' -r
complete -c lamina -n "__fish_lamina_using_subcommand check" -l force -d 'Replace an existing --output file even if it is not a docker-archive'
complete -c lamina -n "__fish_lamina_using_subcommand check" -l no-remote-cache -d 'Neither look layers up in nor record them to the remote layer cache'
complete -c lamina -n "__fish_lamina_using_subcommand check" -l offline -d 'Never download: every locked wheel (and index page) must already be in the cache'
complete -c lamina -n "__fish_lamina_using_subcommand check" -l allow-linux-tag -d 'Accept linux_<arch> wheels (locally built, no manylinux glibc promise) for the dependency layer'
complete -c lamina -n "__fish_lamina_using_subcommand check" -l create-repository -d 'Create the ECR repository if it is missing ([ecr] create)'
complete -c lamina -n "__fish_lamina_using_subcommand check" -l import-check -d 'Also import each handler module with a python3.X of the target\'s version (only the image\'s /var/task and the standard library on sys.path). Runs module-level code'
complete -c lamina -n "__fish_lamina_using_subcommand check" -l deny-unverified -d 'Fail (exit 1, nothing written or pushed) when something cannot be verified, as for an error; unverified = "error" in lamina.toml'
complete -c lamina -n "__fish_lamina_using_subcommand check" -l no-compile-bytecode -d 'Ship no bytecode (no `__pycache__/*.pyc` beside the modules); compile_bytecode = false'
complete -c lamina -n "__fish_lamina_using_subcommand check" -l no-attest -d 'Push no SBOM or provenance with the image (they are attached as OCI referrers by default; attest = false). For verify: check the image alone'
complete -c lamina -n "__fish_lamina_using_subcommand check" -s h -l help -d 'Print help'
complete -c lamina -n "__fish_lamina_using_subcommand pull" -l platform -r
complete -c lamina -n "__fish_lamina_using_subcommand pull" -l creds -d 'Credentials for the registry pushed to (or pulled from, for `pull`): USER:PASSWORD. Without it, ~/.docker/config.json, $REGISTRY_AUTH_FILE and podman\'s auth.json are read' -r
complete -c lamina -n "__fish_lamina_using_subcommand pull" -l insecure-registry -d 'Allow plain http to this registry (loopback always is). Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand pull" -l registry-endpoint -d 'Send HOST\'s registry traffic to URL, naming and authenticating it as HOST (e.g. an ECR host to http://127.0.0.1:5000). Repeatable; also LAMINA_REGISTRY_ENDPOINTS=HOST=URL,…' -r
complete -c lamina -n "__fish_lamina_using_subcommand pull" -l timeout -d 'Give up on a registry that makes no progress: connecting, waiting for an answer, or a request that takes longer than this (plus time for its bytes at 16 KiB/s). 30s, 2m, 90' -r
complete -c lamina -n "__fish_lamina_using_subcommand pull" -l profile -d 'AWS profile for ECR registries (else AWS_PROFILE, else the default chain)' -r
complete -c lamina -n "__fish_lamina_using_subcommand pull" -l region -d 'AWS region for ECR (must match the registry host\'s; by default taken from it)' -r
complete -c lamina -n "__fish_lamina_using_subcommand pull" -s h -l help -d 'Print help'
complete -c lamina -n "__fish_lamina_using_subcommand init" -s C -l project-dir -d 'The project directory: where the Dockerfile and serverless.yml are, and lamina.toml goes' -r -F
complete -c lamina -n "__fish_lamina_using_subcommand init" -l stage -d 'The Serverless stage, for ${opt:stage} and ${sls:stage} (default: provider.stage, else dev)' -r
complete -c lamina -n "__fish_lamina_using_subcommand init" -l region -d 'The Serverless region, for ${opt:region} (default: provider.region, else us-east-1)' -r
complete -c lamina -n "__fish_lamina_using_subcommand init" -l account -d 'The AWS account id of the ECR repository (for push = ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME)' -r
complete -c lamina -n "__fish_lamina_using_subcommand init" -l force -d 'Replace an existing lamina.toml'
complete -c lamina -n "__fish_lamina_using_subcommand init" -s h -l help -d 'Print help'
complete -c lamina -n "__fish_lamina_using_subcommand verify" -s C -l project-dir -d 'Project directory holding lamina.toml; relative paths are taken from here' -r -F
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l base -d 'Base image: oci:DIR[:TAG] or a registry reference (public.ecr.aws/lambda/python:3.12)' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l src -d 'Directory to copy to /var/task/DIR (`.` copies the project into /var/task). Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l handler -d 'Handler (module.function). Repeatable: the first is the image\'s Cmd' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l handlers-from -d 'Also every handler of the serverless.yml functions that deploy this image (image.command, following ${file()} includes); the handlers listed with --handler / handler come first' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l env -d 'Environment variable for the image. Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l label -d 'Image label. Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l platform -d 'linux/amd64 (Lambda\'s x86_64) or linux/arm64' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -s o -l output -d 'Where to write the image: oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG]' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l push -d 'Push to this registry repository (REPO[:TAG]); stdout is then REPO@sha256:…' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l tag -d 'Another tag for the pushed image. Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l cache-repo -d 'Repository of the remote layer cache (cache_repo; default: the --push repository)' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l wheels -d 'Directory of vendored wheels to install into /var/task as one dependency layer' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l lock -d 'Lock file for the dependency layer: pylock.toml (PEP 751) or a hash-pinned requirements.txt. With --wheels too, that directory supplies the lock\'s files (checked against its hashes)' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l index-url -d 'Package index (simple API) for a requirements lock. Default: the file\'s --index-url, then UV_DEFAULT_INDEX / PIP_INDEX_URL, then PyPI' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l extra-index-url -d 'Another index to look in (also PIP_EXTRA_INDEX_URL, UV_INDEX). Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l python -d 'The base\'s CPython version (when the catalog does not know the base), e.g. 3.12' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l glibc -d 'The base\'s glibc version (when the catalog does not know the base), e.g. 2.34' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l allow-bad-record -d 'Install this project\'s wheel even if its RECORD is wrong or incomplete. Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l max-unpacked-size -d 'Refuse wheels that unpack to more than this (default 10G, Lambda\'s image limit)' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l scan-on-push -d 'ECR scan on push for a repository lamina creates ([ecr] scan_on_push)' -r -f -a "true\t''
false\t''"
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l tag-mutability -d 'MUTABLE or IMMUTABLE tags for a repository lamina creates ([ecr] tag_mutability)' -r -f -a "MUTABLE\t''
IMMUTABLE\t''"
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l keep-last -d 'Lifecycle policy: keep the last N images ([ecr] keep_last)' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l expire -d 'Which images the lifecycle policy counts: untagged (safe, default) or any ([ecr] expire)' -r -f -a "untagged\t''
any\t''"
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l compile-workers -d 'Interpreter processes compiling bytecode at once (default: one per core)' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l compile-timeout -d 'Seconds the base\'s interpreter may take to start, and to compile one module, before the build fails naming the module (a base whose Python hangs never hangs the build)' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l sbom-format -d 'The SBOM\'s format: spdx (SPDX 2.3 JSON, the default) or cyclonedx (CycloneDX 1.6 JSON); sbom_format in lamina.toml' -r -f -a "spdx\t''
cyclonedx\t''"
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l sbom -d 'Also write the image\'s SBOM to FILE' -r -F
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l provenance -d 'Also write the image\'s provenance (an in-toto statement, SLSA provenance v1) to FILE' -r -F
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l missing-deps -d 'Dependencies missing from the wheels: error (default) or warn' -r -f -a "error\t''
warn\t''"
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l format -d 'Output format on stdout: text (the digest or REPO@sha256:…) or json (digest, tags, sizes, layers)' -r -f -a "text\t''
json\t''"
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l creds -d 'Credentials for the registry pushed to (or pulled from, for `pull`): USER:PASSWORD. Without it, ~/.docker/config.json, $REGISTRY_AUTH_FILE and podman\'s auth.json are read' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l insecure-registry -d 'Allow plain http to this registry (loopback always is). Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l registry-endpoint -d 'Send HOST\'s registry traffic to URL, naming and authenticating it as HOST (e.g. an ECR host to http://127.0.0.1:5000). Repeatable; also LAMINA_REGISTRY_ENDPOINTS=HOST=URL,…' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l timeout -d 'Give up on a registry that makes no progress: connecting, waiting for an answer, or a request that takes longer than this (plus time for its bytes at 16 KiB/s). 30s, 2m, 90' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l profile -d 'AWS profile for ECR registries (else AWS_PROFILE, else the default chain)' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l region -d 'AWS region for ECR (must match the registry host\'s; by default taken from it)' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l chunk-size -d 'Upload blobs in PATCH chunks of SIZE instead of one monolithic PUT' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l parallel -d 'Blob uploads in flight at once' -r
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l force -d 'Replace an existing --output file even if it is not a docker-archive'
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l no-remote-cache -d 'Neither look layers up in nor record them to the remote layer cache'
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l offline -d 'Never download: every locked wheel (and index page) must already be in the cache'
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l allow-linux-tag -d 'Accept linux_<arch> wheels (locally built, no manylinux glibc promise) for the dependency layer'
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l create-repository -d 'Create the ECR repository if it is missing ([ecr] create)'
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l import-check -d 'Also import each handler module with a python3.X of the target\'s version (only the image\'s /var/task and the standard library on sys.path). Runs module-level code'
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l deny-unverified -d 'Fail (exit 1, nothing written or pushed) when something cannot be verified, as for an error; unverified = "error" in lamina.toml'
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l no-compile-bytecode -d 'Ship no bytecode (no `__pycache__/*.pyc` beside the modules); compile_bytecode = false'
complete -c lamina -n "__fish_lamina_using_subcommand verify" -l no-attest -d 'Push no SBOM or provenance with the image (they are attached as OCI referrers by default; attest = false). For verify: check the image alone'
complete -c lamina -n "__fish_lamina_using_subcommand verify" -s h -l help -d 'Print help'
complete -c lamina -n "__fish_lamina_using_subcommand completions" -s h -l help -d 'Print help'
complete -c lamina -n "__fish_lamina_using_subcommand man" -l out -d 'Write lamina.1 and one page per subcommand (lamina-build.1, …) into DIR instead of printing lamina.1 to stdout' -r -F
complete -c lamina -n "__fish_lamina_using_subcommand man" -s h -l help -d 'Print help'
complete -c lamina -n "__fish_lamina_using_subcommand sbom" -l format -d 'Which SBOM: spdx or cyclonedx (default: SPDX if attached, else CycloneDX)' -r -f -a "spdx\t''
cyclonedx\t''"
complete -c lamina -n "__fish_lamina_using_subcommand sbom" -l platform -d 'For a tag naming a multi-platform index: which image\'s SBOM' -r
complete -c lamina -n "__fish_lamina_using_subcommand sbom" -l creds -d 'Credentials for the registry pushed to (or pulled from, for `pull`): USER:PASSWORD. Without it, ~/.docker/config.json, $REGISTRY_AUTH_FILE and podman\'s auth.json are read' -r
complete -c lamina -n "__fish_lamina_using_subcommand sbom" -l insecure-registry -d 'Allow plain http to this registry (loopback always is). Repeatable' -r
complete -c lamina -n "__fish_lamina_using_subcommand sbom" -l registry-endpoint -d 'Send HOST\'s registry traffic to URL, naming and authenticating it as HOST (e.g. an ECR host to http://127.0.0.1:5000). Repeatable; also LAMINA_REGISTRY_ENDPOINTS=HOST=URL,…' -r
complete -c lamina -n "__fish_lamina_using_subcommand sbom" -l timeout -d 'Give up on a registry that makes no progress: connecting, waiting for an answer, or a request that takes longer than this (plus time for its bytes at 16 KiB/s). 30s, 2m, 90' -r
complete -c lamina -n "__fish_lamina_using_subcommand sbom" -l profile -d 'AWS profile for ECR registries (else AWS_PROFILE, else the default chain)' -r
complete -c lamina -n "__fish_lamina_using_subcommand sbom" -l region -d 'AWS region for ECR (must match the registry host\'s; by default taken from it)' -r
complete -c lamina -n "__fish_lamina_using_subcommand sbom" -s h -l help -d 'Print help'
complete -c lamina -n "__fish_lamina_using_subcommand help; and not __fish_seen_subcommand_from build check pull init verify completions man sbom help" -f -a "build" -d 'Build the image described by lamina.toml (and flags); write it to --output and/or --push it'
complete -c lamina -n "__fish_lamina_using_subcommand help; and not __fish_seen_subcommand_from build check pull init verify completions man sbom help" -f -a "check" -d 'Run every Lambda check of a build (handlers, binaries, dependencies, image rules) and print the size report, without writing or pushing anything'
complete -c lamina -n "__fish_lamina_using_subcommand help; and not __fish_seen_subcommand_from build check pull init verify completions man sbom help" -f -a "pull" -d 'Pull an image (manifest, config and layers) into lamina\'s cache, for offline builds'
complete -c lamina -n "__fish_lamina_using_subcommand help; and not __fish_seen_subcommand_from build check pull init verify completions man sbom help" -f -a "init" -d 'Write lamina.toml from the project\'s Dockerfile, serverless.yml (functions, ECR resource) and lock, reporting every line it could not translate'
complete -c lamina -n "__fish_lamina_using_subcommand help; and not __fish_seen_subcommand_from build check pull init verify completions man sbom help" -f -a "verify" -d 'Rebuild from the inputs with no cache at all (local or remote) and compare with a published image (REPO@sha256:…, REPO:TAG or oci:DIR:TAG): exit 0 only if the digests are equal'
complete -c lamina -n "__fish_lamina_using_subcommand help; and not __fish_seen_subcommand_from build check pull init verify completions man sbom help" -f -a "completions" -d 'Print shell completions for lamina (bash, zsh, fish, powershell, elvish), e.g. `lamina completions bash > ~/.local/share/bash-completion/completions/lamina`'
complete -c lamina -n "__fish_lamina_using_subcommand help; and not __fish_seen_subcommand_from build check pull init verify completions man sbom help" -f -a "man" -d 'Print lamina\'s man page (roff), or write one page per subcommand with --out DIR'
complete -c lamina -n "__fish_lamina_using_subcommand help; and not __fish_seen_subcommand_from build check pull init verify completions man sbom help" -f -a "sbom" -d 'Print the SBOM attached to a registry image (REPO:TAG or REPO@sha256:…), as stored'
complete -c lamina -n "__fish_lamina_using_subcommand help; and not __fish_seen_subcommand_from build check pull init verify completions man sbom help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
