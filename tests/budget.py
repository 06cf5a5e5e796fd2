"""Hypothesis budgets that follow the run's profile (``tests/conftest.py``).

A property or state machine that needs more (or fewer) examples than the profile's draws
``max_examples=examples(n)``: ``n`` under the ``ci`` profile (``.ci/run``), and as many in
proportion under the profile loaded now, so half of ``n`` in a developer's run (the README's
command, the ``dev`` profile). Read when the test module is imported, after the profile
named on the command line was loaded.
"""

from __future__ import annotations

from hypothesis import settings

CI_EXAMPLES = 100  # the ci profile's max_examples: the runs in which n holds as written


def examples(n: int) -> int:
    """``n`` examples in CI, in proportion to the loaded profile's number elsewhere."""
    return max(1, n * settings.default.max_examples // CI_EXAMPLES)
