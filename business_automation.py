"""Business workflows: saved DAGs of steps run as tasks (not built yet)."""
from __future__ import annotations

from errors import NotAvailableYet

FEATURE = "Business workflows: saved DAGs of steps run as tasks"
"""What this module will provide."""


def not_available() -> NotAvailableYet:
    """The error every entry point of this module raises until it is built."""
    return NotAvailableYet(f"{FEATURE} is not available yet in this build of OperatorOS.")
