"""List polling under a binding rate, in virtual time (``tests/batch_quota.py``'s server:
the simulator's bodies and list pages, a grant from the engine's gate for every request).

1,000 notebooks of one project, 20 list pages of 50, at ``max_rate`` 9.5 against a quota of
10 a second: one sweep of the list is 20 grants (2.1 s), one GET a notebook is 105 s. The
ends are seen by the list's pages, not by the notebooks' own GETs, within a few sweeps, and
no second holds more requests than the quota.
"""

from __future__ import annotations

from modelarts_poller import LocalRateLimiter
from modelarts_poller.testing import FakeClock
from tests.batch_quota import batch_pass, fixed, p95, quota_pass, scripts
from tests.quota_mix import quota_pass as mix_pass
from tests.quota_mix import scripts as mix_scripts

RATE = 10.0
COUNT = 1000
PAGES = 20  # 1,000 notebooks, 50 a page
JOBS = 120


async def test_under_a_binding_rate_a_group_is_listed_not_polled_one_by_one() -> None:
    tasks = scripts(COUNT, 20261206, ("notebook",))
    delays, server = await quota_pass(tasks, RATE)
    sweep = PAGES / (RATE * 0.95)
    # Before: a list stopped after its first page (every member overdue for its
    # interval.maximum), whose notebooks had ended and were no longer watched, so the
    # group was taken for one whose list shows none of its tasks: 698 own GETs, p95 74 s.
    assert sum(server.gets.values()) <= COUNT // 20
    assert sum(server.lists.values()) <= 3 * PAGES
    assert max(delays) <= 2 * sweep + 0.6  # two sweeps and the interval's maximum
    assert p95(delays) <= 1.5 * sweep


async def test_a_poll_that_waits_for_a_list_sends_no_request_on_an_old_grant() -> None:
    # Before: a poll given a grant first (the rate binds) that then waited for its
    # group's list in flight spent that grant on its own GET seconds later, in a second
    # the limiter had filled since: 97 requests over the quota in this run.
    tasks = scripts(COUNT, 20261206, ("notebook", "workflow_execution"))
    _, server = await quota_pass(tasks, RATE)
    assert server.throttled == 0


async def test_a_sweep_that_stops_short_leaves_no_own_gets_behind() -> None:
    # bench_batches.py's training jobs (durations x0.01, learned on another batch), 120
    # of them: their search answers 50 a page, so a sweep is 3 pages, 0.06 s at 20 ms.
    # Before: the list stopped once a member it had not shown was due by its maximum,
    # though the next page was where it had been; the lister and the polls waiting for
    # the list got their answers only after its last page; and every member it had not
    # reached sent its own GET: 2,975 GETs beside 964 pages for 250 jobs, 0.35 x the
    # fixed interval matched to its p95 (212 GETs for these 120).
    _, _, learned = await batch_pass(scripts(100, 20261205, ("training_job",)), None)
    tasks = scripts(JOBS, 20261206, ("training_job",))
    delays, server, _ = await batch_pass(tasks, learned, latency=0.02)
    gets, pages = sum(server.gets.values()), sum(server.lists.values())
    assert gets <= JOBS // 2
    assert (gets + pages) / JOBS <= 0.25 * fixed([s.finishes for s in tasks], p95(delays))


class Tally:
    """The engine's limiter (``LocalRateLimiter``), counting the grants it makes and the
    ones given back."""

    def __init__(self, rate: float, clock: FakeClock) -> None:
        self.inner = LocalRateLimiter(rate, clock=clock, adapt=False)
        self.made = self.back = 0

    async def acquire(self) -> None:
        await self.inner.acquire()
        self.made += 1

    async def acquire_grant(self) -> int:
        number = await self.inner.acquire_grant()
        self.made += 1
        return number

    def try_acquire(self) -> bool:
        ok = self.inner.try_acquire()
        self.made += ok
        return ok

    def give_back(self, grant: int) -> bool:
        ok = self.inner.give_back(grant)
        self.back += ok
        return ok


async def test_under_a_binding_rate_every_grant_is_spent_or_given_back() -> None:
    # bench_quota's mix (three exports and two imports a dataset, listed) at 5 requests a
    # second, 8 pollers. Before: the grant taken for a poll that then started its group's
    # list went unspent (the list's first page took another), as did one taken when a
    # list had meanwhile parked every due poll: 21 of 280 grants, 7.5% of the quota.
    clock = FakeClock()
    tally = Tally(5.0, clock)
    tasks = mix_scripts(20, 0.5)
    delays, server = await mix_pass(tasks, 5.0, 0.5, clock=clock, rate_limiter=tally,
                                    max_in_flight=8)  # fmt: skip
    sent = sum(server.gets.values()) + sum(server.lists.values())
    assert sum(server.lists.values()) > 20  # the lists were made
    assert tally.back > 0
    assert tally.made - tally.back == sent
    assert server.throttled == 0
    assert len(delays) == len(tasks)
