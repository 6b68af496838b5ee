"""The triage levels and the red-flag rule type, shared by safety.red_flags and safety.red_flag_families.

Part of safety (import them from safety.policies).
"""
from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from safety.patterns import Doc, Phrase, exact


class Urgency(str, enum.Enum):
    """Triage levels, most urgent first."""

    EMERGENCY = "emergency"
    URGENT = "urgent"
    SOON = "soon"
    SELF_CARE = "self_care"

    @property
    def label(self) -> str:
        """The level in plain words."""
        return _URGENCY_LABELS[self]

    @property
    def rank(self) -> int:
        """0 for the most urgent level."""
        return list(Urgency).index(self)


_URGENCY_LABELS = {
    Urgency.EMERGENCY: "call emergency services now",
    Urgency.URGENT: "urgent care today",
    Urgency.SOON: "see a doctor soon",
    Urgency.SELF_CARE: "self-care",
}


@dataclass(frozen=True)
class RedFlag:
    """A rule from public triage guidance: when every group matches, the level applies."""

    key: str
    """Short identifier."""
    reason: str
    """Why it matters, in plain words."""
    level: Urgency
    """EMERGENCY, or URGENT for a warning that becomes an emergency on the signs in `emergency_if`."""
    all_of: tuple[tuple[Phrase, ...], ...]
    """Groups of alternatives; one phrase of every group must be found."""
    actions: tuple[str, ...] = ()
    """What to do now, first aid that needs no medicine or dose."""
    emergency_if: str = ""
    """For a warning: the signs that make it an emergency."""
    supersedes: tuple[str, ...] = ()
    """Keys of less specific flags this one replaces."""
    none_of: tuple[Phrase, ...] = ()
    """Phrases that cancel the rule ("food poisoning" is not a poisoning emergency)."""
    source: str = ""
    """The published guidance the rule follows."""
    check: Callable[[Doc], bool] | None = None
    """A test of the readings (age, temperature...) that must hold as well."""

    def __post_init__(self) -> None:
        # fail safe: a cancel is never guessed from a misspelling ("stuck" read as "stock" silenced an alarm)
        object.__setattr__(self, "none_of", exact(self.none_of))
