"""CPU microseconds per request safety decision (`safety.policies.assess_request`), best of a few rounds.

Run:  .venv/bin/python bench/safety_decision.py [--rounds 5]

The texts are the triage tuning corpus (symptom descriptions, where the red flags do the most work)
and a few everyday requests for the other pools. CPU time (process_time), not wall time, so the
other sessions sharing the machine skew it less; compare a before/after pair run back to back.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from safety import policies  # noqa: E402  (after the path: run as a script)

EVERYDAY = ("please summarise the quarterly sales report for the board", "deploy the new worker pool to staging",
            "what are the odds on arsenal tonight", "analyse my portfolio allocation")


def texts() -> list[str]:
    """The symptom descriptions and everyday requests measured."""
    corpus = ROOT / "tests" / "data" / "triage_corpus_tuning.jsonl"
    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [json.loads(line)["text"] for line in lines][:200] + list(EVERYDAY) * 25


def main() -> None:
    """Print the best CPU time per decision over the rounds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    sample = texts()
    for text in sample:  # warm the per-word caches, as a running server has
        policies.assess_request("general", text)
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for text in sample:
            policies.assess_request("general", text + " ")  # a new text: no per-text cache hit
        best = min(best, (time.process_time() - start) / len(sample))
    print(f"{best * 1e6:.0f} us of CPU per safety decision ({len(sample)} texts, best of {rounds})")


if __name__ == "__main__":
    main()
