"""Writes a benchmark's figures into docs/benchmarks.md between `<!-- NAME:start -->` and `<!-- NAME:end -->`."""

from __future__ import annotations

import subprocess
from pathlib import Path


def fresh_database(name: str) -> None:
    """Drop and create the PostgreSQL database `name` (a benchmark's own: its name starts with
    iamreview_bench, so no benchmark can drop the product's or the tests' database)."""
    if not name.startswith("iamreview_bench"):
        raise SystemExit(f"{name}: a benchmark's database name starts with iamreview_bench")
    for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
            check=True,
            capture_output=True,
        )


def replace_section(path: Path, name: str, body: str) -> None:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + f"\n\n{block}\n"
    path.write_text(text)
