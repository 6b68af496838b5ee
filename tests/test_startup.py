"""The CLI's fast start (startup.py): kept patterns behave exactly as fresh ones; a bad file changes nothing."""
from __future__ import annotations

import gc
import json
import marshal
import re
import subprocess
import sys
from pathlib import Path

import pytest

import startup
from tests.conftest import ROOT, run_cli, scrubbed_env

TEXTS = [json.loads(line)["text"] for line in (ROOT / "tests/data/utterances.jsonl").read_text().splitlines()[:300]]
"""Real requests to match the kept and the fresh patterns against."""

VARIED = [
    (r"(?P<num>\d+)\s*(?:mg|ml)\b", 0), (r"^\s*(?:show|list)\b(?!\s+me\s+nothing)", re.I),
    (r"""(?x) (?P<word> [a-z]+ )  # a word
         \s+ (?P=word)""", 0), (r"(?<=\$)\d+(?:\.\d\d)?", 0), (r"caf\u00e9|na\u00efve", re.I | re.U),
    (r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", 0), (r"(a|b)*?c{2,5}", re.S | re.M),
]
"""Patterns with the features the engine's code encodes differently: groups, flags, look-arounds, back-references."""


def fill(path: Path, patterns: list[tuple[str, int]]) -> startup.PatternCache:
    """A cache at `path` that has compiled `patterns` the slow way and saved them."""
    cache = startup.PatternCache(path)
    cache.load()
    re.purge()  # re's own in-process cache would hand back an earlier Pattern without reaching ours
    with cache.installed():
        for pattern, flags in patterns:
            re.compile(pattern, flags)
    cache.save()
    return cache


def import_through_cache(path: Path, env: dict[str, str] | None = None) -> int:
    """Import the CLI's modules in a fresh process through the pattern cache at `path`; how many it compiled."""
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import startup\n"
            "cache = startup.PatternCache(__import__('pathlib').Path(%r))\n"
            "cache.load()\n"
            "with cache.installed():\n    import services, main\n"
            "cache.save(); print(cache.misses)\n") % (str(ROOT), str(path))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    return int(run.stdout)


def same_behaviour(kept: re.Pattern[str], fresh: re.Pattern[str], texts: list[str]) -> None:
    assert (kept.pattern, kept.flags, kept.groups, kept.groupindex) == (
        fresh.pattern, fresh.flags, fresh.groups, fresh.groupindex)
    for text in texts:
        assert [m.span() for m in kept.finditer(text)] == [m.span() for m in fresh.finditer(text)], text
        found, expected = kept.search(text), fresh.search(text)
        assert (found and found.groups()) == (expected and expected.groups())


def test_kept_patterns_of_the_rules_match_exactly_as_fresh_ones(tmp_path: Path) -> None:
    """Every pattern the CLI's modules compile, rebuilt from the file, finds the same spans and groups."""
    path = tmp_path / "patterns.marshal"
    misses = import_through_cache(path)
    assert misses > 100  # the understanding and safety rules' patterns
    cache = startup.PatternCache(path)
    cache.load()
    assert len(cache.loaded) == misses
    for (pattern, flags), entry in cache.loaded.items():
        same_behaviour(cache._build(pattern, entry), re.compile(pattern, flags), TEXTS[:40])


def test_the_modules_compile_the_same_patterns_whatever_the_hash_seed(tmp_path: Path) -> None:
    """A pattern built from a set in its iteration order differs between processes (string hashes are seeded
    per process): the cache would miss it on every run, compile it the slow way and write the file again."""
    path = tmp_path / "patterns.marshal"
    misses = [import_through_cache(path, {**scrubbed_env(), "PYTHONHASHSEED": seed}) for seed in ("1", "2", "3")]
    assert misses[0] > 100 and misses[1:] == [0, 0], misses


def test_varied_patterns_round_trip_and_a_second_run_compiles_nothing(tmp_path: Path) -> None:
    path = tmp_path / "p.marshal"
    assert fill(path, VARIED).misses == len(VARIED)
    again = fill(path, VARIED)
    assert again.misses == 0 and len(again.used) == len(VARIED)
    for pattern, flags in VARIED:
        same_behaviour(again._build(pattern, again.loaded[(pattern, int(flags))]), re.compile(pattern, flags),
                       TEXTS + ["caf\u00e9 NA\u00cfVE $12.50 the the 30 mg aaabcc"])


@pytest.mark.parametrize("damage", [b"", b"not marshal at all", marshal.dumps(("another python", {})),
                                    marshal.dumps(("x", [1, 2])), None])
def test_a_missing_stale_or_damaged_file_changes_nothing_but_speed(tmp_path: Path, damage: bytes | None) -> None:
    path = tmp_path / "p.marshal"
    if damage is not None:
        path.write_bytes(damage)
    cache = fill(path, VARIED)
    assert cache.misses == len(VARIED)
    assert startup.PatternCache(path).loaded == {}  # not yet loaded
    reloaded = startup.PatternCache(path)
    reloaded.load()
    assert set(reloaded.loaded) == {(p, int(f)) for p, f in VARIED}


def test_a_damaged_entry_falls_back_to_compiling(tmp_path: Path) -> None:
    path = tmp_path / "p.marshal"
    fill(path, VARIED[:1])
    stamp, table = marshal.loads(path.read_bytes())
    key = next(iter(table))
    table[key] = (table[key][0], b"\x01\x00", 0, {}, ())  # code words the engine refuses
    path.write_bytes(marshal.dumps((stamp, table)))
    cache = fill(path, VARIED[:1])
    assert cache.misses == 1
    found = re.compile(*VARIED[0]).search("take 30 mg")
    assert found is not None and found.group("num") == "30"


def test_a_folder_that_cannot_be_written_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"  # a regular file where the folder should be: even root cannot write into it
    blocker.write_text("")
    cache = fill(blocker / "p.marshal", VARIED)
    assert cache.misses == len(VARIED) and blocker.read_text() == ""
    assert list(tmp_path.iterdir()) == [blocker]  # no temporary file left behind


def test_the_usual_compiler_is_back_after_the_block(tmp_path: Path) -> None:
    original = re._compiler.compile  # type: ignore[attr-defined]
    cache = startup.PatternCache(tmp_path / "p.marshal")
    with pytest.raises(KeyError), cache.installed():
        assert re._compiler.compile == cache.compile  # type: ignore[attr-defined]
        raise KeyError("the block failed")
    assert re._compiler.compile is original  # type: ignore[attr-defined]


def test_fast_start_turns_the_collector_back_on() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with startup.fast_start():
        assert not gc.isenabled()
        kept = [{"a": [i]} for i in range(1000)]
    assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(kept)
    gc.unfreeze()


def test_the_cli_answers_the_same_with_and_without_kept_patterns(cli_env: dict[str, str]) -> None:
    path = startup.cache_path()
    assert run_cli("Show me the system status", env=cli_env).returncode == 0  # the first run migrates
    path.unlink(missing_ok=True)
    cold = run_cli("--json", "Show me the pools", env=cli_env)
    assert path.exists()  # written by that run
    warm = run_cli("--json", "Show me the pools", env=cli_env)
    assert cold.returncode == warm.returncode == 0, cold.stderr + warm.stderr
    strip = {"session_id", "data"}
    cold_reply, warm_reply = json.loads(cold.stdout), json.loads(warm.stdout)
    assert {k: v for k, v in cold_reply.items() if k not in strip} == {
        k: v for k, v in warm_reply.items() if k not in strip}
    assert cold_reply["data"]["pools"] == warm_reply["data"]["pools"]


def test_a_run_that_compiles_fewer_patterns_does_not_shrink_the_file(tmp_path: Path) -> None:
    path = tmp_path / "p.marshal"
    fill(path, VARIED[:4])
    fill(path, VARIED[4:5])  # another run: one new pattern, none of the first four
    reloaded = startup.PatternCache(path)
    reloaded.load()
    assert set(reloaded.loaded) == {(p, int(f)) for p, f in VARIED[:5]}


def test_past_the_limit_the_file_keeps_only_the_last_runs_patterns(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(startup, "MAX_PATTERNS", 4)
    path = tmp_path / "p.marshal"
    fill(path, VARIED[:4])
    fill(path, VARIED[4:6])
    reloaded = startup.PatternCache(path)
    reloaded.load()
    assert set(reloaded.loaded) == {(p, int(f)) for p, f in VARIED[4:6]}
