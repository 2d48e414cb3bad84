#!/usr/bin/env bash
# The LiteLLM proxy for the benchmark's side-by-side, in its own virtualenv: it pins
# openai, fastapi and pydantic versions of its own that conflict with the project's.
# From PyPI only; idempotent (seconds when it is already installed). When it cannot be
# installed, the benchmark still runs and reports why LiteLLM was not measured.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${LITELLM_VENV:-.venv-litellm}"
VERSION="1.103.5"  # keep in step with bench/litellm_proxy.py LITELLM_VERSION

installed() {
    "$VENV/bin/python" -c "import importlib.metadata as m, sys; \
sys.exit(m.version('litellm') != '$VERSION')" 2>/dev/null
}

if installed; then
    echo "LiteLLM proxy $VERSION: installed in $VENV"
    exit 0
fi
echo "Installing the LiteLLM proxy $VERSION into $VENV (once, about a minute)…"
if { [[ -x "$VENV/bin/python" ]] || python3.11 -m venv "$VENV"; } \
    && "$VENV/bin/python" -m pip install --quiet --upgrade pip \
    && "$VENV/bin/python" -m pip install --quiet "litellm[proxy]==$VERSION" \
    && installed; then
    echo "LiteLLM proxy $VERSION: installed"
else
    echo "WARNING: could not install the LiteLLM proxy; the benchmark will say so." >&2
fi
exit 0
