"""The llama-server build's settings: portable unless told otherwise, trimmed to what
the server needs, and a bounded number of compile jobs."""

from __future__ import annotations

import shlex

import pytest

from deploy.local.install_llama_server import DEFAULT_ARGS, TRIM_ARGS, build_env


def test_a_portable_trimmed_build_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CMAKE_ARGS", raising=False)
    monkeypatch.delenv("LLAMA_CPP_BUILD_JOBS", raising=False)
    env = build_env()
    assert shlex.split(env["CMAKE_ARGS"]) == [*DEFAULT_ARGS, *TRIM_ARGS]
    assert int(env["LLAMA_CPP_BUILD_JOBS"]) >= 1


def test_the_users_cmake_args_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMAKE_ARGS", "-DGGML_CUDA=ON -DLLAMA_BUILD_TESTS=OFF")
    monkeypatch.setenv("LLAMA_CPP_BUILD_JOBS", "3")
    env = build_env()
    args = shlex.split(env["CMAKE_ARGS"])
    assert args[:2] == ["-DGGML_CUDA=ON", "-DLLAMA_BUILD_TESTS=OFF"]
    assert args.count("-DLLAMA_BUILD_TESTS=OFF") == 1 and set(TRIM_ARGS) <= set(args)
    assert "-DGGML_NATIVE=OFF" not in args and env["LLAMA_CPP_BUILD_JOBS"] == "3"
