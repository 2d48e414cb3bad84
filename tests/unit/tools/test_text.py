"""Known answers: hash_text, base64_codec, regex_extract, text_analyze."""

from __future__ import annotations

import pytest

from tests.unit.tools.helpers import call, fails


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        ("md5", "900150983cd24fb0d6963f7d28e17f72"),
        ("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("sha224", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"),
    ],
)
def test_hash_text_known_vectors(algorithm: str, digest: str) -> None:
    assert call("hash_text", text="abc", algorithm=algorithm)["hex"] == digest


def test_hash_lengths_and_unknown_algorithm() -> None:
    assert len(call("hash_text", text="", algorithm="sha384")["hex"]) == 96
    assert len(call("hash_text", text="", algorithm="sha512")["hex"]) == 128
    assert fails("hash_text", text="a", algorithm="crc32").argument == "algorithm"


def test_base64() -> None:
    assert call("base64_codec", text="hello world")["result"] == "aGVsbG8gd29ybGQ="
    assert call("base64_codec", text="aGVsbG8gd29ybGQ=", mode="decode")["result"] == "hello world"
    assert call("base64_codec", text="aGVsbG8", mode="decode")["result"] == "hello"  # no padding
    assert call("base64_codec", text="\u00ff\u00fe?>", url_safe=True)["result"] == "w7_Dvj8-"


def test_base64_rejects_garbage_and_reports_binary() -> None:
    assert fails("base64_codec", text="not base64!", mode="decode").argument == "text"
    binary = call("base64_codec", text="//79", mode="decode")
    assert (binary["result"], binary["hex"]) == (None, "fffefd")


def test_regex_extract_groups_and_flags() -> None:
    result = call("regex_extract", pattern=r"(\w+)@(\w+)\.com", text="a@b.com, C@D.com")
    assert [m["groups"] for m in result["matches"]] == [["a", "b"], ["C", "D"]]
    assert call("regex_extract", pattern="hello", text="HELLO hello", flags="i")["count"] == 2
    assert call("regex_extract", pattern="^b", text="a\nb", flags="m")["count"] == 1
    assert call("regex_extract", pattern="a.b", text="a\nb", flags="s")["count"] == 1
    assert call("regex_extract", pattern="a.b", text="a\nb")["count"] == 0
    named = call("regex_extract", pattern=r"(?P<year>\d{4})", text="in 2024")["matches"][0]
    assert named["named"] == {"year": "2024"}


def test_regex_extract_limits() -> None:
    assert call("regex_extract", pattern="a", text="a" * 50, max_matches=3)["count"] == 3
    assert fails("regex_extract", pattern="(", text="x").argument == "pattern"
    assert fails("regex_extract", pattern="a", text="x", flags="x").argument == "flags"


def test_text_analyze() -> None:
    text = "Hello world. This is a test!\n\nSecond paragraph, isn't it? Yes."
    result = call("text_analyze", text=text)
    assert result["words"] == 11
    assert result["sentences"] == 4
    assert result["paragraphs"] == 2
    assert result["characters"] == len(text)
    assert result["characters_no_spaces"] == len(text.replace(" ", "").replace("\n", ""))


def test_text_analyze_reading_time_and_empty() -> None:
    assert call("text_analyze", text="word " * 400)["reading_time_minutes"] == 2.0
    empty = call("text_analyze", text="")
    assert (empty["words"], empty["sentences"], empty["paragraphs"]) == (0, 0, 0)
