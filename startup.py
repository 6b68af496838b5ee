"""A fast start for the CLI's one-shot process: compiled patterns kept between runs, no collections while loading.

Two costs dominate loading OperatorOS's own modules, and neither is the modules' work:

- Compiling the request-understanding and safety rules' regular expressions. Python compiles a
  pattern in pure Python (`re._parser`, `re._compiler`): for the few hundred patterns of the rules
  that is about a sixth of the status answer's instructions, spent again by every process. The
  compiled form is a list of integers, so it is kept beside the bytecode
  (`__pycache__/patterns.<python>.marshal`, like a .pyc) and handed straight to `_sre.compile`
  next time. The file is keyed by the interpreter's version and the regex engine's magic number;
  a pattern not in it, or a file that is missing, stale, unreadable or unwritable, simply
  compiles as usual, so the cache can change speed and nothing else.
- The cyclic garbage collector, which walks every new object of the import a few hundred times.
  Module-level objects live as long as the process: loading runs with the collector off, then
  `gc.freeze()` moves what was loaded out of its sight and turns it back on.
"""
from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import marshal
import os
import re
import sys
import tempfile
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

CACHE_DIR = Path(__file__).resolve().parent / "__pycache__"
"""Where the kept patterns live: beside the root modules' bytecode."""

MAX_PATTERNS = 4096
"""Most patterns the file keeps (about ten times what the CLI compiles)."""

_CODE_TYPE = "I"
"""array type code of the engine's code words (unsigned 32-bit, as `_sre.CODESIZE` is 4)."""

Entry = tuple[int, bytes, int, dict[str, int], tuple[Any, ...]]
"""A compiled pattern: final flags, code words, group count - 1, group index, index group."""


def _engine() -> Any:
    """The regex engine's C module and compiler, or None where this interpreter lays them out differently."""
    compiler = getattr(re, "_compiler", None)
    try:
        _sre = importlib.import_module("_sre")  # CPython's engine; it has no type stubs
    except ImportError:  # pragma: no cover - not CPython
        return None
    if compiler is None or getattr(_sre, "CODESIZE", 0) != 4 or not hasattr(compiler, "_code"):
        return None
    return _sre, compiler


def _stamp() -> str:
    """What a kept compilation is valid for: this interpreter and regex engine."""
    magic = getattr(importlib.import_module("_sre"), "MAGIC", "")
    return f"{sys.version}|{magic}|{sys.implementation.cache_tag}"


class PatternCache:
    """Compiled patterns read from and written to one file; `compile` stands in for `re._compiler.compile`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        """The marshal file."""
        self.loaded: dict[tuple[str, int], Entry] = {}
        self.used: dict[tuple[str, int], Entry] = {}
        self.misses = 0
        """Patterns compiled the slow way in this run."""
        engine = _engine()
        if engine is None:
            raise RuntimeError("this Python's regex engine is not the one the cache knows")
        self._sre, self._compiler = engine
        self._original = self._compiler.compile

    def load(self) -> None:
        """Read the file; a missing, stale or damaged one is ignored (everything compiles as usual)."""
        try:
            data = marshal.loads(self.path.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            return
        if isinstance(data, tuple) and len(data) == 2 and data[0] == _stamp() and isinstance(data[1], dict):
            self.loaded = data[1]

    def compile(self, pattern: Any, flags: Any = 0) -> Any:
        """`re._compiler.compile` with the kept compilations; any other input goes the usual way."""
        if not isinstance(pattern, str) or int(flags) & re.DEBUG:
            return self._original(pattern, flags)
        key = (pattern, int(flags))
        entry = self.loaded.get(key)
        if entry is not None:
            try:
                compiled = self._build(pattern, entry)
            except Exception:  # a damaged entry: forget the file's contents, compile as usual
                logger.debug("kept pattern unusable; compiling afresh", exc_info=True)
                self.loaded = {}
            else:
                self.used[key] = entry
                return compiled
        compiled = self._original(pattern, flags)
        parsed = self._compiler._parser.parse(pattern, flags) if hasattr(self._compiler, "_parser") else None
        if parsed is not None:
            words = array(_CODE_TYPE, [int(word) for word in self._compiler._code(parsed, flags)]).tobytes()
            self.used[key] = (int(compiled.flags), words, compiled.groups, dict(compiled.groupindex),
                              _index_group(compiled))
            self.misses += 1
        return compiled

    def _build(self, pattern: str, entry: Entry) -> Any:
        flags, words, groups, groupindex, indexgroup = entry
        return self._sre.compile(pattern, flags, array(_CODE_TYPE, words).tolist(), groups, groupindex, indexgroup)

    def save(self) -> None:
        """Write the file when this run compiled new patterns (atomically; a read-only folder is fine).

        The file keeps what it held as well as this run's patterns, so a run that loads fewer modules
        does not shrink it for the next; past MAX_PATTERNS (old patterns of edited code) it keeps this run's.
        """
        if not self.misses:
            return
        kept = {**self.loaded, **self.used}
        if len(kept) > MAX_PATTERNS:
            kept = dict(self.used)
        try:
            self.path.parent.mkdir(exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".patterns-")
        except OSError:
            logger.debug("pattern cache not written", exc_info=True)
            return
        try:
            os.chmod(temporary, 0o644)  # like bytecode: readable by whoever runs the code, nothing secret in it
            with os.fdopen(handle, "wb") as out:
                marshal.dump((_stamp(), kept), out)
            os.replace(temporary, self.path)  # readers see the old file or the new one, never half of one
        except (OSError, ValueError):
            logger.debug("pattern cache not written", exc_info=True)
            with contextlib.suppress(OSError):
                os.unlink(temporary)

    @contextlib.contextmanager
    def installed(self) -> Iterator[PatternCache]:
        """Compile through this cache inside the block, then put the usual compiler back."""
        self._compiler.compile = self.compile
        try:
            yield self
        finally:
            self._compiler.compile = self._original


def _index_group(compiled: Any) -> tuple[Any, ...]:
    """The engine's group-number-to-name table of a compiled pattern."""
    names: list[Any] = [None] * (compiled.groups + 1)
    for name, number in compiled.groupindex.items():
        names[number] = name
    return tuple(names)


def cache_path() -> Path:
    """The cache file of this interpreter."""
    return CACHE_DIR / f"patterns.{sys.implementation.cache_tag}.marshal"


@contextlib.contextmanager
def fast_start() -> Iterator[None]:
    """Load modules inside this block with kept patterns and no garbage collection (see the module's docstring)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        cache = PatternCache(cache_path())
    except RuntimeError:
        cache = None
    try:
        if cache is None:
            yield
        else:
            cache.load()
            with cache.installed():
                yield
            cache.save()
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
