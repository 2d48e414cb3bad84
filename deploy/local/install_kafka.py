"""`python -m deploy.local.install_kafka`: install the embedded broker's jars and a Java
runtime if missing (`make setup` runs it); exit code 1 with what to install otherwise."""

from __future__ import annotations

import subprocess
import sys

from deploy.local.errors import MissingBinaryError
from deploy.local.kafka_dist import install_java, install_kafka, java_major, kafka_version


def main() -> None:
    try:
        java = install_java()
        libs = install_kafka()
    except (MissingBinaryError, subprocess.CalledProcessError) as exc:
        print(f"✗ {exc}", file=sys.stderr)
        sys.exit(1)
    print(f"    Java {java_major(java)} at {java}")
    print(f"    Apache Kafka {kafka_version()} in {libs}")


if __name__ == "__main__":
    main()
