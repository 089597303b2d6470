"""One large account, from 20,000 to 100,000 roles: the engine alone (`manage.py analyze`), a first
`manage.py import_gaad` into a fresh PostgreSQL database (store, analysis, findings, one transaction), and
`cloudsplaining scan` on the same file where it finishes in reasonable time, in the same run.

    .venv/bin/python benchmarks/scale.py                                  # 20,000, 50,000 and 100,000 roles
    .venv/bin/python benchmarks/scale.py --sizes 20000 --cloudsplaining-max 20000 --no-write

Accounts come from `benchmarks/gen_gaad.py` (the same generator as the offline comparison). Each command
runs in its own process; wall time and peak resident memory are measured on that process (the launcher of
`benchmarks/analyze.py`). The figures go into docs/benchmarks.md between the `scale` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.analyze import BIN, run_measured  # noqa: E402
from benchmarks.gen_gaad import generate  # noqa: E402
from benchmarks.report import fresh_database, replace_section  # noqa: E402

DB = "iamreview_bench_scale"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000, 50000, 100000])
    parser.add_argument(
        "--cloudsplaining-max",
        type=int,
        default=20000,
        help="run cloudsplaining on accounts up to this many roles (it takes minutes beyond)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    work = ROOT / "var" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    python = str(BIN / "python")
    env_db = f"postgresql://postgres@127.0.0.1:5432/{DB}"
    rows = []
    for size in args.sizes:
        gaad = work / f"gaad-{size}.json"
        gaad.write_text(json.dumps(generate(size)))
        megabytes = gaad.stat().st_size / 1e6
        with (work / f"ours-{size}.json").open("w") as fh:
            analyze = run_measured([python, "manage.py", "analyze", str(gaad), "--format", "json"], stdout=fh)
        principals = len(json.loads((work / f"ours-{size}.json").read_text())["principals"])
        fresh_database(DB)
        os.environ["DATABASE_URL"] = env_db
        run_measured([python, "manage.py", "migrate", "-v", "0"])
        first = run_measured(
            [python, "manage.py", "import_gaad", "--account", "123456789012", "--name", "scale", str(gaad)]
        )
        cloudsplaining = "not run"
        if size <= args.cloudsplaining_max and shutil.which("cloudsplaining", path=str(BIN)):
            out = work / f"cloudsplaining-{size}"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            wall, peak = run_measured(
                [str(BIN / "cloudsplaining"), "scan", "-i", str(gaad), "-o", str(out), "-s"]
            )
            cloudsplaining = f"{wall:.1f} s, {peak:,} MiB"
        rows.append(
            f"| {size:,} roles ({principals:,} principals, {megabytes:.0f} MB) | {analyze[0]:.1f} s | "
            f"{analyze[1]:,} MiB | {first[0]:.1f} s ({first[0] / analyze[0]:.1f}x) | {first[1]:,} MiB | "
            f"{cloudsplaining} |"
        )
        print(rows[-1], flush=True)
    body = "\n".join(
        [
            f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; command: "
            f"`.venv/bin/python benchmarks/scale.py --sizes {' '.join(map(str, args.sizes))} "
            f"--cloudsplaining-max {args.cloudsplaining_max}` (one run each; wall time and peak memory of "
            "the command's process)",
            "",
            "| account | `analyze` (engine) | peak | first `import_gaad` (x engine) | peak | cloudsplaining scan |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(body)
    if not args.no_write:
        replace_section(ROOT / "docs" / "benchmarks.md", "scale", body)


if __name__ == "__main__":
    main()
