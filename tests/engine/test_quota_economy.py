"""The guard on bench_quota.py's shape: the mix of every kind at its quota, in virtual time.

``tests/quota_mix.py`` runs it (994 tasks, 20 requests a second, lists on, durations
learned online). The yardstick is the information bound the benchmark prints: the p95 delay
of a poller that knows every end and spends one request a task right after it, in end
order, at the rate. The engine does not know the ends, but its lists observe several tasks
a request, so it sits at that bound: 0.99 to 1.04 of it before lists read on under a
binding rate (0056677), 1.07 to 1.13 after (a grant a list's first page did not spend,
29c486a), 1.01 to 1.02 once every grant is spent or given back.
"""

from __future__ import annotations

from tests.batch_quota import p95
from tests.quota_mix import SEED, quota_pass, scripts

RATE = 20.0
SCALE = 0.5
GROUPS = 71  # bench_quota.py --tasks 1000: 994 tasks; about half a second of CPU a seed


def bound(ends: list[float]) -> float:
    """p95 delay of one request a task, right after its end, in end order, at RATE."""
    slot, delays = 0.0, []
    for end in sorted(ends):
        slot = max(end, slot + 1.0 / RATE)
        delays.append(slot - end)
    return p95(delays)


async def test_the_mix_at_its_quota_is_reported_at_the_information_bound() -> None:
    ratios = []
    for seed in (1, 2, 3):
        tasks = scripts(GROUPS, SCALE, SEED + seed)
        delays, server = await quota_pass(tasks, RATE, SCALE)
        assert server.throttled == 0
        assert sum(server.lists.values()) > 0
        ratios.append(p95(delays) / bound([t.finishes for t in tasks]))
    assert sorted(ratios)[1] <= 1.05, ratios
