"""Mutation testing of one critical module with its fast tests (mutmut), and its score.

    /work/main/.venv/bin/python bench/mutation.py                      # task_processor.py, tests/test_task_processor.py
    /work/main/.venv/bin/python bench/mutation.py agent_master_controller.py tests/test_agent_master_controller.py

The tracked files are copied to a scratch folder (mutmut writes its mutants/ next to the code, and
its settings go in a setup.cfg there, so the worktree is left alone); the tests run on SQLite only
(`-m "not postgres and not slow and not chaos"`), or with `--postgres` on PostgreSQL too, in a fixed
order. Prints killed, survived, the other outcomes and the score (killed / (killed + survived)); the
survivors are listed with `mutmut results` in the scratch folder, which is printed.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = Path(sys.executable).with_name("mutmut")

SELECTION = ["-p", "no:randomly", "-q", "-x"]
"""Each mutant's test run: in file order, stopping at the first kill."""

SQLITE_ONLY = "not postgres and not slow and not chaos"
"""The fast tests on SQLite only (the default)."""

WITH_POSTGRES = "not slow and not chaos"
"""The fast tests on SQLite and on PostgreSQL (127.0.0.1:5432): reaches the PostgreSQL statements too."""


def scratch_copy(target: Path) -> None:
    """The files git tracks (and nothing else) copied to `target`."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in listed.splitlines():
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def write_settings(target: Path, module: str, tests: list[str], markers: str = SQLITE_ONLY) -> None:
    """mutmut's settings: mutate `module`, copy every other module and package, run `tests` selected by `markers`."""
    others = sorted(p.name for p in target.iterdir()
                    if p.name != module and not p.name.startswith(".") and (p.suffix == ".py" or p.is_dir()))
    lines = ["[mutmut]", f"source_paths={module}", "also_copy=", *(f"    {name}" for name in others),
             "pytest_add_cli_args_test_selection=", *(f"    {t}" for t in tests),
             "pytest_add_cli_args=", *(f"    {a}" for a in ["-m", markers, *SELECTION])]
    (target / "setup.cfg").write_text("\n".join(lines) + "\n")


def score(target: Path) -> dict[str, object]:
    """The outcome counts mutmut recorded, and the share of killed among killed and survived."""
    subprocess.run([str(MUTMUT), "export-cicd-stats"], cwd=target, check=True, capture_output=True)
    stats = json.loads((target / "mutants" / "mutmut-cicd-stats.json").read_text())
    killed, survived = int(stats.get("killed", 0)), int(stats.get("survived", 0))
    stats["score"] = round(killed / (killed + survived), 3) if killed + survived else None
    return dict(stats)


def main() -> int:
    """Run mutmut over one module with its tests; print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", nargs="?", default="task_processor.py")
    parser.add_argument("tests", nargs="*", default=["tests/test_task_processor.py"])
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--postgres", action="store_true",
                        help="run the tests' PostgreSQL variants too (they reach the PostgreSQL-only code)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds before the run is stopped")
    parser.add_argument("--keep", type=Path, help="work in this folder (kept) instead of a temporary one")
    parser.add_argument("--only", action="append", default=[], metavar="PATTERN",
                        help="mutate only these mutants (fnmatch on mutmut's names, e.g. "
                             "'api_routes.x_authenticate_header*'); repeatable")
    args = parser.parse_args()
    target = args.keep or Path(tempfile.mkdtemp(prefix="oos-mutation-"))
    target.mkdir(parents=True, exist_ok=True)
    scratch_copy(target)
    write_settings(target, args.module, args.tests or ["tests/test_task_processor.py"],
                   WITH_POSTGRES if args.postgres else SQLITE_ONLY)
    try:
        subprocess.run([str(MUTMUT), "run", "--max-children", str(args.max_children), *args.only], cwd=target,
                       timeout=args.timeout, stdout=subprocess.DEVNULL, check=False)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True  # the mutants already run are counted; the others stay "not checked"
    figures = {"module": args.module, "tests": args.tests, "only": args.only, "postgres": args.postgres,
               "timed_out": timed_out,
               **score(target), "folder": str(target)}
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
