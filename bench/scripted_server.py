"""`python -m bench.scripted_server --port N`: the scripted model in its own process.

Its own process (and event loop), so that the timings it emits are not delayed by the
benchmark client's work. A real model server runs on its own hardware; this one only
sleeps and writes small chunks, so it takes little of the CPU the services need."""

from __future__ import annotations

import argparse

import uvicorn

from bench.scripted_llm import ScriptedModel, create_scripted_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Scripted OpenAI-compatible model server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    model = ScriptedModel(record_calls=False, prompt_overrides=True)
    app = create_scripted_app(model, control=True)
    # Access logs off: at hundreds of requests per second they would cost CPU that the
    # services under test need.
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
