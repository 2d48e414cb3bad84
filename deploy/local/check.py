"""`python -m deploy.local.check`: are the embedded components installed? (`make setup`
runs it last; exit code 1 with the reason when one is missing.)"""

from __future__ import annotations

import sys

from rich.console import Console

from deploy.local.binaries import check_all
from deploy.local.errors import MissingBinaryError


def main() -> None:
    console = Console(soft_wrap=True, highlight=False)
    try:
        lines = check_all()
    except MissingBinaryError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[red]✗ {exc}[/red]")
        sys.exit(1)
    for line in lines:
        console.print(f"  [green]✓[/green] {line}")


if __name__ == "__main__":
    main()
