"""Contract version: bumped on additive change (minor) or a new kind/topic (major)."""

from typing import Final

CONTRACT_VERSION: Final = "2.1"
CONTRACT_MAJOR: Final = CONTRACT_VERSION.split(".")[0]
