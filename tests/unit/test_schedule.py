"""The pure scheduler: due order, priority among due polls, its overtaking bound, placement."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from modelarts_poller import Backoff
from modelarts_poller._policy import rhythm_at
from modelarts_poller._schedule import (
    PRIORITY_SPAN,
    REKEY_EVERY,
    REKEY_SLICE,
    Scheduler,
    change_chance,
    early_end_delay,
    hedged_delay,
    no_progress_delay,
    placed_delay,
    priority_credit,
)
from tests.budget import examples


class Item:
    def __init__(self, name: str, credit: float = 0.0) -> None:
        self.name = name
        self.credit = credit
        self._seq = 0
        self._due = 0.0
        self._deadline: float | None = None

    def __repr__(self) -> str:
        return f"Item({self.name})"


def by_credit(item: Item, due: float, now: float) -> float:
    return item.credit


def test_due_order_without_credit_and_the_time_to_look_again() -> None:
    sched: Scheduler[Item] = Scheduler()
    a, b, c = Item("a"), Item("b"), Item("c")
    sched.push(b, 2.0)
    sched.push(a, 1.0)
    sched.push(c, 5.0)
    assert sched.earliest() == 1.0
    assert sched.pop(0.5) == 1.0
    assert sched.pop(3.0) is a
    assert sched.last_due == 1.0
    assert sched.pop(3.0) is b
    assert sched.pop(3.0) == 5.0
    assert a._seq == 0  # popped: not queued


def test_a_repushed_or_cancelled_item_leaves_its_old_entry_behind() -> None:
    sched: Scheduler[Item] = Scheduler()
    a, b = Item("a"), Item("b")
    sched.push(a, 1.0)
    sched.push(b, 2.0)
    sched.push(a, 3.0)  # rescheduled: the entry at 1.0 is stale
    b._seq = -1  # finished
    assert sched.pop(2.5) == 3.0
    assert sched.pop(3.0) is a
    assert sched.pop(10.0) == math.inf


def test_due_polls_compete_by_credit_and_a_lone_due_poll_needs_none() -> None:
    calls: list[str] = []

    def credit(item: Item, due: float, now: float) -> float:
        calls.append(item.name)
        return item.credit

    sched: Scheduler[Item] = Scheduler(credit)
    lone = Item("lone", credit=5.0)
    sched.push(lone, 1.0)
    sched.push(Item("later"), 9.0)
    assert sched.pop(1.0) is lone
    assert calls == []  # nothing competed, nobody's credit was computed

    low, high = Item("low", credit=0.0), Item("high", credit=3.0)
    sched.push(low, 2.0)
    sched.push(high, 4.0)
    assert sched.earliest() == 2.0
    assert sched.pop(5.0) is high  # 4 - 3 < 2 - 0
    assert sched.earliest() == -math.inf  # low waits among the due
    assert sched.pop(5.0) is low


def test_due_polls_waiting_on_the_rate_hold_no_tracked_tuple() -> None:
    # Thousands of due polls wait when the rate binds; each entry that held its item kept
    # one more object for every full garbage collection to walk.
    import gc

    sched: Scheduler[Item] = Scheduler(by_credit)
    items = [Item(str(i), credit=float(i % 3)) for i in range(50)]
    for i, item in enumerate(items):
        sched.push(item, float(i))
    first = sched.pop(100.0)
    assert first in items
    sched.unpop(first, 0.0, 100.0)  # type: ignore[arg-type]
    assert len(sched._ready) >= 40
    gc.collect()
    assert not any(gc.is_tracked(entry) for entry in sched._ready)
    popped = [sched.pop(100.0) for _ in range(50)]
    assert sorted(p.name for p in popped) == sorted(i.name for i in items)  # type: ignore[union-attr]
    assert sched._waiting == {}


def test_an_unpopped_item_competes_again_with_its_due_time() -> None:
    sched: Scheduler[Item] = Scheduler(by_credit)
    mine, better = Item("mine"), Item("better", credit=2.0)
    sched.push(mine, 1.0)
    sched.push(better, 1.5)
    assert sched.pop(1.0) is mine
    sched.unpop(mine, 1.0, 1.0)  # waiting for a grant: back among the due
    assert sched.earliest() == -math.inf
    assert sched.pop(2.0) is better  # both due by now; better's key is -0.5
    assert sched.pop(2.0) is mine
    assert sched.last_due == 1.0


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 100, allow_nan=False),  # due
            st.floats(0.1, 30, allow_nan=False),  # interval
            st.floats(0, 1, allow_nan=False),  # chance
        ),
        min_size=1,
        max_size=40,
    )
)
def test_a_poll_is_overtaken_only_by_polls_due_less_than_span_intervals_later(
    entries: list[tuple[float, float, float]],
) -> None:
    items = []
    for i, (_due, interval, chance) in enumerate(entries):
        item = Item(str(i), credit=priority_credit(chance, interval))
        assert 0 <= item.credit <= PRIORITY_SPAN * interval
        items.append(item)
    sched: Scheduler[Item] = Scheduler(by_credit)
    for item, (due, _i, _c) in zip(items, entries, strict=True):
        sched.push(item, due)
    order = []
    while True:
        got = sched.pop(1000.0)
        if isinstance(got, float):
            break
        order.append(int(got.name))
    assert sorted(order) == list(range(len(items)))
    for pos, a in enumerate(order):
        for b in order[:pos]:  # b went before a
            due_a, due_b = entries[a][0], entries[b][0]
            if due_b > due_a:
                assert due_b - due_a <= PRIORITY_SPAN * entries[b][1] + 1e-9


class SchedulerMachine(RuleBasedStateMachine):
    """Push, cancel, re-push, pop and expire against a plain model of what is queued and
    of the deadlines kept."""

    def __init__(self) -> None:
        super().__init__()
        self.sched: Scheduler[Item] = Scheduler(by_credit)
        self.items = [Item(str(i), credit=float(i % 3)) for i in range(6)]
        self.queued: dict[int, float] = {}  # item index -> due
        self.deadlines: dict[int, float] = {}  # item index -> deadline still kept
        self.now = 0.0

    @rule(i=st.integers(0, 5), delay=st.floats(0, 10, allow_nan=False))
    def push(self, i: int, delay: float) -> None:
        self.sched.push(self.items[i], self.now + delay)
        self.queued[i] = self.now + delay

    @rule(i=st.integers(0, 5))
    def cancel(self, i: int) -> None:
        self.items[i]._seq = -1
        self.queued.pop(i, None)
        self.sched.forget_deadline(self.items[i])  # as the engine does for a finished task
        self.deadlines.pop(i, None)

    @rule(i=st.integers(0, 5), after=st.floats(0, 10, allow_nan=False))
    def set_deadline(self, i: int, after: float) -> None:
        item = self.items[i]
        if item._seq == -1:
            return
        item._deadline = self.now + after
        self.sched.add_deadline(item)
        self.deadlines[i] = item._deadline

    @rule()
    def expire(self) -> None:
        # A binding rate or busy pollers leave due items waiting: a deadline ends them
        # anyway, whatever their rank among the due (issue 23), and only them.
        got = self.sched.expired(self.now)
        passed = {i for i, d in self.deadlines.items() if d <= self.now}
        assert sorted(self.items.index(g) for g in got) == sorted(
            i for i in passed if i in self.queued
        )
        for g in got:
            assert g._seq == 0  # taken out of the queue
        for i in passed:  # used up; one not queued is in its poller's hands
            del self.deadlines[i]
            self.queued.pop(i, None)

    @rule(step=st.floats(0, 5, allow_nan=False))
    def advance(self, step: float) -> None:
        self.now += step

    @rule()
    def pop(self) -> None:
        got = self.sched.pop(self.now)
        due_now = {i: d for i, d in self.queued.items() if d <= self.now}
        if isinstance(got, float):
            assert not due_now
            later = list(self.queued.values())
            # Stale entries may make the time to look again early, never late.
            assert got <= min(later) if later else got == math.inf
            return
        i = self.items.index(got)
        assert i in due_now, "popped an item that is not due or not queued"
        key = due_now[i] - got.credit
        # Everything due now that was already competing had a key at least as good.
        assert all(d - self.items[j].credit >= key - 1e-9 for j, d in due_now.items())
        del self.queued[i]

    @rule(i=st.integers(0, 5))
    def unpop(self, i: int) -> None:
        # What the engine does with a popped item while it waits for a rate grant.
        item = self.items[i]
        if i in self.queued or item._seq == -1:
            return
        self.sched.unpop(item, self.now, self.now)
        self.queued[i] = self.now

    @invariant()
    def the_next_deadline_is_the_earliest_kept(self) -> None:
        assert self.sched.next_deadline() == min(self.deadlines.values(), default=math.inf)

    @invariant()
    def finished_items_are_never_queued(self) -> None:
        for i, item in enumerate(self.items):
            if item._seq == -1:
                assert i not in self.queued

    @invariant()
    def every_due_entry_finds_its_item_and_no_item_is_kept_without_one(self) -> None:
        # The ready heap holds numbers only; its items sit in a dict by seq, which must
        # neither lose one (a due poll forgotten) nor keep one no entry names (a leak).
        ready, waiting = self.sched._ready, self.sched._waiting
        assert sorted(seq for _key, seq, _due in ready) == sorted(waiting)


TestSchedulerMachine = SchedulerMachine.TestCase
TestSchedulerMachine.settings = settings(
    max_examples=examples(100), stateful_step_count=40, deadline=None
)


def test_change_chance_orders_what_is_likely_news() -> None:
    unknown = change_chance(seen=False, waited=0.0, eta=None, ended=None)
    likely = change_chance(seen=False, waited=0.0, eta=None, ended=0.9)
    unlikely = change_chance(seen=False, waited=0.0, eta=None, ended=0.0)
    # Never seen: news either way, more if its kind has likely ended, less if not.
    assert likely > unknown > unlikely >= 0.5
    passed = change_chance(seen=True, waited=10.0, eta=5.0, ended=None)
    early = change_chance(seen=True, waited=1.0, eta=5.0, ended=None)
    assert passed > early > 0
    assert change_chance(seen=True, waited=3.0, eta=None, ended=0.7) == 0.7
    assert change_chance(seen=True, waited=3.0, eta=None, ended=None) == 0.25


@given(
    st.floats(0.01, 100, allow_nan=False),
    st.floats(0.01, 1000, allow_nan=False),
    st.floats(0, 1e5, allow_nan=False),
    st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)),
)
def test_placed_delay_stays_between_the_policy_delay_and_its_maximum(
    delay: float, maximum: float, age: float, quiet: float | None
) -> None:
    got = placed_delay(delay, maximum, age, quiet)
    assert got >= min(delay, maximum) or got == delay
    assert got <= max(delay, maximum)
    if quiet is None or quiet <= age:
        assert got == delay


def test_placed_delay_skips_the_quiet_stretch_then_keeps_the_policy_rhythm() -> None:
    assert placed_delay(1.0, 60.0, age=5.0, quiet_until=50.0) == 45.0
    assert placed_delay(1.0, 30.0, age=5.0, quiet_until=50.0) == 30.0
    assert placed_delay(1.0, 60.0, age=5.0, quiet_until=5.5) == 1.0  # the rhythm is longer
    assert placed_delay(1.0, 60.0, age=51.0, quiet_until=50.0) == 1.0  # past it: the rhythm


def test_waiting_due_items_get_fresh_credits_now_and_then() -> None:
    learned: dict[str, float] = {}

    def credit(item: Item, due: float, now: float) -> float:
        return learned.get(item.name, 0.0)

    sched: Scheduler[Item] = Scheduler(credit)
    items = [Item(str(i)) for i in range(5)]
    for item in items:
        sched.push(item, 0.0)
    assert sched.pop(0.0) is items[0]  # all join the due with no credit: due order
    learned["4"] = 10.0  # meanwhile, item 4 became the likeliest news
    assert sched.pop(0.1) is items[1]  # credits are not given again at once
    assert sched.pop(0.1 + REKEY_EVERY) is items[4]  # now they are
    assert sched.pop(1.5) is items[2]


@given(
    st.floats(0.01, 100, allow_nan=False),
    st.floats(0.01, 10, allow_nan=False),
    st.floats(0, 1e4, allow_nan=False),
    st.one_of(st.none(), st.floats(0, 1e5, allow_nan=False)),
)
def test_a_hedged_progress_poll_is_never_later_nor_earlier_than_its_bounds(
    delay: float, initial: float, age: float, half: float | None
) -> None:
    got = hedged_delay(delay, initial, age, half)
    assert got <= max(delay, initial)
    assert got >= min(delay, initial)
    if half is None or half - age >= delay:
        assert got == delay


def test_a_progress_estimate_stops_where_half_its_kind_has_ended() -> None:
    assert hedged_delay(10.0, 1.0, age=20.0, half_ended=25.0) == 5.0
    assert hedged_delay(10.0, 1.0, age=20.0, half_ended=40.0) == 10.0
    assert hedged_delay(10.0, 1.0, age=20.0, half_ended=20.2) == 1.0


# A kind whose tasks that report progress end at 100% (90 of them) or fail at 60% (10).
FAILS_AT_60 = tuple(10.0 if i == 60 else 90.0 if i == 100 else 0.0 for i in range(101))
EVERY_SECOND = Backoff(initial=1.0, maximum=60.0, strategy="constant", jitter="none")


def test_a_progress_estimate_stops_where_its_kind_was_seen_to_end_early() -> None:
    # At 13%, 4.6% a second, aimed 19 s on: its kind's tasks that failed stopped at 60%,
    # 10.3 s on; seen at the aim, they would be 8.7 s late, 0.87 s on average: over half
    # the 1 s rhythm, so the poll moves to 60.5%.
    got = early_end_delay(19.0, EVERY_SECOND, 3.0, 0.13, 0.046, FAILS_AT_60)
    assert got == pytest.approx((0.605 - 0.13) / 0.046)


def test_an_early_end_not_worth_a_poll_moves_nothing() -> None:
    # The aimed poll would see them 3.6 s late, 0.36 s on average: under half the rhythm.
    assert early_end_delay(6.0, EVERY_SECOND, 1.0, 0.13, 0.2, FAILS_AT_60) == 6.0
    # The first, under a backoff that asks 8 s at the age of the look (13.3 s): half is 4 s.
    doubling = Backoff(initial=1.0, maximum=60.0, jitter="none")
    assert rhythm_at(doubling, 3.0 + (0.605 - 0.13) / 0.046) == 8.0
    assert early_end_delay(19.0, doubling, 3.0, 0.13, 0.046, FAILS_AT_60) == 19.0


def test_ends_that_did_not_say_where_may_lie_anywhere_ahead() -> None:
    # As many again failed without saying where: spread over 13% to 99%, 1.15 a percent.
    # By 17.5% (1 s on, the interval's initial) 5.7 of the 200 ends still possible lie
    # behind the look, which sees them 18 s before the aim: 0.52 s a task, over half the
    # rhythm.
    unsaid = (*FAILS_AT_60, 100.0)
    assert early_end_delay(19.0, EVERY_SECOND, 3.0, 0.13, 0.046, unsaid) == 1.0


# A kind whose failures (10 of 100) never say where they stopped (a failed v1 service's
# answer carries no progress).
FAILS_UNSAID = (*(90.0 if i == 100 else 0.0 for i in range(101)), 10.0)


def test_a_kind_whose_failures_do_not_say_where_is_looked_at_on_the_way() -> None:
    # Aimed 25 s on at 4.6% a second: the tenth that fails may stop anywhere above 13%.
    # At 34.5% (4.7 s on) 22 of its 87 percents lie behind the look, which sees them
    # 20.3 s sooner: 0.51 s a task, over half the rhythm (at 33.5%, 0.496 s).
    got = early_end_delay(25.0, EVERY_SECOND, 3.0, 0.13, 0.046, FAILS_UNSAID)
    assert got == pytest.approx((0.345 - 0.13) / 0.046)
    # Aimed 19 s on, no look in between saves half a rhythm (0.48 s at best).
    assert early_end_delay(19.0, EVERY_SECOND, 3.0, 0.13, 0.046, FAILS_UNSAID) == 19.0


def test_ends_below_the_completion_reached_are_passed() -> None:
    # At 61% the 60% bin (59.5% to 60.5%) is behind it: only the aimed poll remains.
    assert early_end_delay(19.0, EVERY_SECOND, 15.0, 0.61, 0.02, FAILS_AT_60) == 19.0
    # At 60.2% an end in that bin is still possible: a look after the interval's initial.
    assert early_end_delay(19.0, EVERY_SECOND, 15.0, 0.602, 0.02, FAILS_AT_60) == 1.0


def test_without_early_ends_the_estimate_holds() -> None:
    done = tuple(100.0 if i == 100 else 0.0 for i in range(101))
    assert early_end_delay(19.0, EVERY_SECOND, 3.0, 0.13, 0.046, done) == 19.0
    assert early_end_delay(19.0, EVERY_SECOND, 3.0, 0.13, 0.0, FAILS_AT_60) == 19.0


@given(
    st.floats(0.01, 100, allow_nan=False),
    st.floats(0, 1, allow_nan=False),
    st.floats(1e-4, 1, allow_nan=False),
    st.lists(st.floats(0, 100, allow_nan=False), min_size=101, max_size=101),
)
def test_an_early_end_poll_is_never_later_than_asked_nor_sooner_than_initial(
    delay: float, completion: float, rate: float, ends: list[float]
) -> None:
    got = early_end_delay(delay, EVERY_SECOND, 10.0, completion, rate, ends)
    assert got <= delay
    assert got >= min(delay, EVERY_SECOND.initial)


def test_many_waiting_items_get_fresh_credits_a_slice_at_a_time() -> None:
    calls = [0]
    fresh: dict[str, float] = {}

    def credit(item: Item, due: float, now: float) -> float:
        calls[0] += 1
        return fresh.get(item.name, 0.0)

    sched: Scheduler[Item] = Scheduler(credit)
    items = [Item(str(i)) for i in range(3 * REKEY_SLICE)]
    for item in items:
        sched.push(item, 0.0)
    assert sched.pop(0.0) is items[0]
    fresh[items[-1].name] = 100.0  # the last one became the likeliest news
    now = 0.0
    for _ in range(3):
        now += REKEY_EVERY
        calls[0] = 0
        got = sched.pop(now)
        # A bounded pause, whatever the number waiting: a slice joins, a slice is re-keyed.
        assert calls[0] <= 2 * REKEY_SLICE
        if got is items[-1]:
            break
    else:
        raise AssertionError("the slices never reached the last item")


def test_a_crowd_falling_due_at_once_joins_the_due_a_slice_per_pop() -> None:
    calls = [0]

    def credit(item: Item, due: float, now: float) -> float:
        calls[0] += 1
        return 0.0

    sched: Scheduler[Item] = Scheduler(credit)
    items = [Item(str(i)) for i in range(3 * REKEY_SLICE)]
    for item in items:
        sched.push(item, 0.0)
    got = []
    while True:
        calls[0] = 0
        popped = sched.pop(0.0)
        assert calls[0] <= 2 * REKEY_SLICE  # never the whole crowd in one pop
        if isinstance(popped, float):
            break
        got.append(popped)
    assert sorted(got, key=lambda i: int(i.name)) == items  # nobody lost


# -- the placement of a poll without progress (docs/engine.md, Request economy) ----------

backoffs = st.builds(
    lambda initial, spread, strategy: Backoff(
        initial=initial, maximum=initial * spread, strategy=strategy, jitter="none"
    ),
    st.floats(0.01, 100.0),
    st.floats(1.0, 1000.0),
    st.sampled_from(["constant", "exponential", "fibonacci"]),
)
maybe_age = st.none() | st.floats(0.0, 1e7)


@given(backoffs, st.floats(0.0, 1e7))
def test_rhythm_at_is_a_step_of_the_backoff_that_never_shrinks_with_age(
    interval: Backoff, age: float
) -> None:
    got = rhythm_at(interval, age)
    assert interval.initial <= got <= interval.maximum
    assert rhythm_at(interval, age * 2 + 1.0) >= got


@given(backoffs, st.integers(0, 50), st.floats(0.0, 1e7), maybe_age, maybe_age)
def test_a_poll_without_progress_stays_within_the_policys_bounds(
    interval: Backoff, attempt: int, age: float, sparse: float | None, half: float | None
) -> None:
    delay = interval.delay(attempt, 0.0)
    got = no_progress_delay(delay, interval, age, sparse, half)
    assert delay <= got <= interval.maximum  # never sooner than asked, never past maximum
    assert got == no_progress_delay(delay, interval, age, sparse, half)  # deterministic


def test_a_poll_without_progress_keeps_the_rhythm_of_its_age_under_the_hedge() -> None:
    backoff = Backoff(initial=1.0, maximum=30.0, jitter="none")
    assert no_progress_delay(1.0, backoff, 10.0, None, None) == 8.0  # 1+2+4 < 10 < 15
    assert no_progress_delay(1.0, backoff, 10.0, None, 13.0) == 3.0  # half ended by 13 s
    assert no_progress_delay(1.0, backoff, 10.0, None, 10.5) == 1.0  # never under the policy
    assert no_progress_delay(1.0, backoff, 10.0, 50.0, 13.0) == 30.0  # sparse: to its end, capped
    steady = Backoff(initial=1.0, maximum=60.0, strategy="constant", jitter="none")
    assert no_progress_delay(1.0, steady, 500.0, None, None) == 1.0


def walked(delay: float, interval: Backoff, age: float, completion: float, rate: float,
           ends: list[float]) -> float:  # fmt: skip
    """early_end_delay's rule, percent by percent, without its shortcut."""
    if not (rate > 0) or not (delay > interval.initial):
        return delay
    start = max(0, math.floor(completion * 100 - 0.5) + 1)
    alive = sum(ends[start:])
    if not (alive > 0):
        return delay
    unsaid = ends[101] / (100 - start) if start < 100 else 0.0
    seen = 0.0
    for i in range(start, 100):
        seen += ends[i] + unsaid
        if not ends[i] + unsaid:
            continue
        wait = max(interval.initial, ((i + 0.5) / 100 - completion) / rate)
        if wait >= delay:
            break
        if seen / alive * (delay - wait) >= rhythm_at(interval, age + wait) / 2:
            return wait
    return delay


@given(
    st.floats(1.01, 200, allow_nan=False),
    st.floats(0, 1, allow_nan=False),
    st.floats(1e-3, 0.2, allow_nan=False),
    st.floats(0, 100, allow_nan=False),
    st.dictionaries(st.integers(0, 100), st.floats(0, 100, allow_nan=False), max_size=6),
    st.floats(0.01, 100, allow_nan=False),
    st.sampled_from(["constant", "exponential", "fibonacci"]),
)
def test_the_shortcut_for_ends_that_did_not_say_where_changes_no_answer(
    delay: float, completion: float, rate: float, age: float, bins: dict[int, float],
    unsaid: float, strategy: str,
) -> None:  # fmt: skip
    ends = [0.0] * 101 + [unsaid]
    for i, weight in bins.items():
        ends[i] = weight
    interval = Backoff(initial=1.0, maximum=60.0, strategy=strategy, jitter="none")  # type: ignore[arg-type]
    got = early_end_delay(delay, interval, age, completion, rate, ends)
    assert got == walked(delay, interval, age, completion, rate, ends)
