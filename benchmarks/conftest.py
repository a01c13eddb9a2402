"""Shared pieces of the benchmark suite: BLAS thread settings and a results table.

Benchmarks compare us with real peers in the same run and report ratios; results tables
are written to ``benchmarks/results/`` at the end of the session.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from threadpoolctl import threadpool_limits

RESULTS = Path(__file__).parent / "results"


@contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """``None``: leave BLAS at its default thread count; an int: limit every BLAS pool."""
    if threads is None:
        yield
    else:
        with threadpool_limits(limits=threads):
            yield


class ResultTable:
    """Rows collected during the session, written as JSON and Markdown per table name."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {}

    def add(self, table: str, **row: Any) -> None:
        self.tables.setdefault(table, []).append(row)

    def write(self) -> None:
        RESULTS.mkdir(exist_ok=True)
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        for name, rows in self.tables.items():
            meta = {"date": stamp, "machine": platform.processor() or platform.machine()}
            (RESULTS / f"{name}.json").write_text(
                json.dumps({"meta": meta, "rows": rows}, indent=2)
            )
            cols = list(rows[0])
            lines = [
                f"<!-- written by the benchmark suite on {stamp}; do not edit -->",
                "| " + " | ".join(cols) + " |",
                "|" + "---|" * len(cols),
            ]
            for row in rows:
                cells = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row.values()]
                lines.append("| " + " | ".join(cells) + " |")
            (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")


_TABLE = ResultTable()


@pytest.fixture(scope="session")
def results() -> ResultTable:
    return _TABLE


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _TABLE.tables:
        _TABLE.write()
        for name, rows in _TABLE.tables.items():
            print(f"\n== {name}")
            for row in rows:
                print(
                    "  "
                    + ", ".join(
                        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in row.items()
                    )
                )
