"""How long tasks of each kind run, learned online from the tasks that end (pure).

A task that reports no progress can only be caught ending by polling while it may end;
the learned distribution says where that is. Durations are counted from the start of
the watch (a task watched long after it started looks shorter than it was), binned on a
log scale (each bin about 9% wide, from 50 ms to about 150 days), so a model is a few
hundred numbers per kind however many tasks it has seen. Old tasks fade: once a kind's
weight passes ``HALF_LIFE_WEIGHT``, every bin is halved, so the model follows a change in
a kind's durations within a few thousand finishes.

For the kinds whose tasks report progress it also learns where they end in that progress:
the completion each one's last answer reported (1.0 for a task that completed, what a task
that failed had reached), in bins of 1%. A progress estimate foresees the first kind of end
only; the second says where a task's estimate may be wrong.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._errors import InvalidArgumentError

_LO = 0.05  # seconds: shorter durations share the first bin
_STEP = 2.0**0.125  # bin width ratio
_BINS = 224  # _LO * _STEP**224 is about 1.3e7 s
_EDGES = tuple(_LO * _STEP**i for i in range(_BINS + 1))
_LOG_LO = math.log(_LO)
_LOG_STEP = math.log(_STEP)
_BIN_KEY = re.compile(r"[0-9]{1,3}")  # to_json's bin keys: str(i) for i < _BINS

MIN_SAMPLES = 20  # a kind's model is used once it has seen this many ends
# The hedge on a jump answers once this many learned ends (by weight) came later than the
# task's age. With fewer, the ends past the age are a handful of stragglers: a cap drawn from
# one or two of them cut short-export estimates that were right (bench_economy 0.55 x to
# 0.81 x), while intelligent tasks on the mix need it from a few (1.94 x without it at 20).
# 8 keeps both: tests/economy_mix.py, every shape, in virtual time.
HEDGE_EVIDENCE = 8.0
HALF_LIFE_WEIGHT = 4096.0
# Where progress tasks end: bins 0 to 100 hold completions [i - 0.5, i + 0.5) %; bin 101
# holds the tasks whose last answer did not say (a failed answer without a completion).
_PROGRESS_BINS = 102
# Hazards are read from counts smoothed over this many bins either side (about 20% of an
# age each way): a few dozen ends leave empty bins that are sampling noise, not gaps.
_SMOOTH = 2
# The unseen end below the first learned one fades over the span of this many first ends.
_TAIL_ENDS = 3.0
# A kind's sparse map is rebuilt once its learned weight has moved by this share.
_REBUILD = 0.01


def _bin(seconds: float) -> int:
    if seconds <= _LO:
        return 0
    i = int((math.log(seconds) - _LOG_LO) / _LOG_STEP)
    return i if i < _BINS else _BINS - 1


class DurationModel:
    """Per-kind duration distributions; see the module docstring for what is assumed.

    ``seed`` gives a kind durations known in advance (from earlier runs or a guess);
    ``to_json``/``from_json`` carry a model across restarts (a checkpoint does it).
    """

    __slots__ = ("_cdf", "_counts", "_progress", "_progress_totals", "_sparse", "_totals")

    def __init__(self) -> None:
        self._counts: dict[str, list[float]] = {}
        self._totals: dict[str, float] = {}
        self._cdf: dict[str, list[float]] = {}  # cumulative counts, rebuilt lazily
        # kind -> (budget, the weight it was built at, per bin: the age the sparse stretch
        # holding it ends at, or None for a dense bin); rebuilt lazily
        self._sparse: dict[str, tuple[float, float, list[float | None]]] = {}
        # kind -> per 1% of completion, the tasks that reported progress and ended there
        self._progress: dict[str, list[float]] = {}
        self._progress_totals: dict[str, float] = {}

    def record(self, kind: str, seconds: float) -> None:
        """One task of ``kind`` ended ``seconds`` after its watch started."""
        if not (seconds >= 0 and math.isfinite(seconds)):
            return  # a clock that went back: nothing to learn
        _count(self._counts, self._totals, kind, _bin(seconds), _BINS)
        self._cdf.pop(kind, None)

    def seed(self, kind: str, durations: Iterable[float]) -> None:
        """Record each of ``durations`` (seconds) for ``kind``; raises on a bad value."""
        if not isinstance(kind, str) or not kind:
            raise InvalidArgumentError(f"kind must be a non-empty str, got {kind!r}")
        values = list(durations)
        for value in values:
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (value >= 0 and math.isfinite(value))
            ):
                raise InvalidArgumentError(
                    f"durations must be finite numbers >= 0 (seconds), got {value!r}"
                )
        for value in values:
            self.record(kind, float(value))

    def samples(self, kind: str) -> float:
        """The weight of what was learned about ``kind`` (ends seen, halved as they age)."""
        return self._totals.get(kind, 0.0)

    def knows(self, kind: str) -> bool:
        return self._totals.get(kind, 0.0) >= MIN_SAMPLES

    def _cumulative(self, kind: str) -> list[float] | None:
        cdf = self._cdf.get(kind)
        if cdf is None:
            counts = self._counts.get(kind)
            if counts is None:
                return None
            running = 0.0
            cdf = []
            for c in counts:
                running += c
                cdf.append(running)
            self._cdf[kind] = cdf
        return cdf

    def ended_by(self, kind: str, seconds: float) -> float:
        """The learned probability that a task of ``kind`` ends within ``seconds``
        (linear within a bin); 0.0 for a kind with no samples."""
        cdf = self._cumulative(kind)
        if cdf is None or seconds <= 0:
            return 0.0
        total = cdf[-1]
        if total <= 0:
            return 0.0
        i = _bin(seconds)
        below = cdf[i - 1] if i else 0.0
        lo, hi = (_EDGES[i], _EDGES[i + 1]) if i else (0.0, _EDGES[1])
        frac = min(1.0, max(0.0, (seconds - lo) / (hi - lo)))
        return min(1.0, (below + (cdf[i] - below) * frac) / total)

    def chance_ended(self, kind: str, seen_at: float, now: float) -> float | None:
        """The chance that a task of ``kind`` alive at age ``seen_at`` ended by age ``now``,
        or ``None`` while the kind has fewer than ``MIN_SAMPLES`` ends."""
        if not self.knows(kind):
            return None
        alive = 1.0 - self.ended_by(kind, seen_at)
        if alive <= 1e-9:
            return 1.0  # older than anything seen: every look is a good bet
        return min(1.0, max(0.0, (self.ended_by(kind, now) - self.ended_by(kind, seen_at)) / alive))

    def quiet_until(self, kind: str, age: float, budget: float) -> float | None:
        """The age up to which a task alive at ``age`` ends with probability at most
        ``budget`` (conditional), or ``None`` while the kind is not known at that age:
        fewer than ``MIN_SAMPLES`` of its learned ends came later than ``age``. The ends
        learned so far are those of the shorter tasks (the long ones are still running),
        so past them the model has nothing to say: it must not claim they end soon."""
        return self._after(kind, age, budget, MIN_SAMPLES)

    def hedge_until(self, kind: str, age: float, share: float) -> float | None:
        """The age by which ``share`` of the learned ends later than ``age`` have come, or
        ``None`` while the kind has fewer than ``MIN_SAMPLES`` ends or fewer than
        ``HEDGE_EVIDENCE`` of them came later than ``age``. Unlike :meth:`quiet_until` it
        answers where only a few ends came later: it caps a jump, and a cap that comes too
        early costs a poll, not a late report. Near and past the last learned ends it says
        nothing: the ends learned first are the short tasks' (the long ones still run), so
        an older task is no evidence of an end."""
        return self._after(kind, age, share, HEDGE_EVIDENCE)

    def _after(self, kind: str, age: float, budget: float, need: float) -> float | None:
        if not self.knows(kind):
            return None
        cdf = self._cumulative(kind)
        assert cdf is not None
        total = cdf[-1]
        start = self.ended_by(kind, age)
        alive = 1.0 - start
        if alive * total < need:
            return None
        target = (start + budget * alive) * total
        i = bisect.bisect_left(cdf, target)
        if i >= _BINS:
            return math.inf
        below = cdf[i - 1] if i else 0.0
        lo, hi = (_EDGES[i], _EDGES[i + 1]) if i else (0.0, _EDGES[1])
        width = cdf[i] - below
        frac = 0.0 if width <= 0 else (target - below) / width
        return max(age, lo + (hi - lo) * min(1.0, max(0.0, frac)))

    def sparse_until(self, kind: str, age: float, budget: float) -> float | None:
        """The age at which the sparse stretch holding ``age`` ends, or ``None`` where a
        task of ``kind`` at ``age`` is in a dense stretch, or the kind is not known yet.

        Ages are dense where the kind's ends are likely given the age: the hazard (the
        learned chance of ending per second among the tasks still running at an age) is
        at least the kind's threshold, and sparse below it. The threshold is the lowest
        at which the learned ends that fall in sparse ages weigh at most ``budget`` of
        all of them: the sparse ages are those where waiting costs the fewest ends seen
        late per poll saved (a poll at age t is spent on every task still running, an
        end in a skipped stretch is seen late). Ages past the last learned end are dense:
        the model knows nothing there and claims nothing.
        """
        if not self.knows(kind):
            return None
        total = self._totals[kind]
        cached = self._sparse.get(kind)
        if cached is None or cached[0] != budget or abs(total - cached[1]) > _REBUILD * total:
            cached = self._sparse[kind] = (budget, total, sparse_map(self._counts[kind], budget))
        if not (age >= 0):
            age = 0.0
        return cached[2][_bin(age)]

    def record_progress_end(self, kind: str, completion: float | None) -> None:
        """One task of ``kind`` that reported progress ended with ``completion`` (in
        [0, 1]) in its last answer: 1.0 if it completed, what it had reached if it failed,
        ``None`` if its last answer did not say."""
        if completion is None:
            i = _PROGRESS_BINS - 1
        elif 0.0 <= completion <= 1.0:
            i = int(completion * 100 + 0.5)
        else:
            return
        _count(self._progress, self._progress_totals, kind, i, _PROGRESS_BINS)

    def progress_ends(self, kind: str) -> Sequence[float] | None:
        """Per 1% of completion (index ``i`` for ``i``% give or take half a percent, 0 to
        100), the learned weight of ``kind``'s tasks that ended there, and at index 101 of
        those whose last answer did not say (see :meth:`record_progress_end`); ``None``
        while the kind has fewer than ``MIN_SAMPLES`` of them all.
        The model's own counts, read-only: asked on every poll that follows an estimate."""
        if self._progress_totals.get(kind, 0.0) < MIN_SAMPLES:
            return None
        return self._progress[kind]

    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self._counts))

    # -- persistence ------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The model as JSON-able data: per kind, its non-empty bins (``"kinds"``), and
        per kind that reported progress, the non-empty bins of where it ended
        (``"progress_ends"``)."""
        return {
            "version": 1,
            "kinds": {
                kind: {str(i): c for i, c in enumerate(counts) if c}
                for kind, counts in self._counts.items()
            },
            "progress_ends": {
                kind: {str(i): c for i, c in enumerate(ends) if c}
                for kind, ends in self._progress.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> DurationModel:
        """A model from :meth:`to_json`'s data, or from that data as JSON text; raises
        :class:`InvalidArgumentError` for anything else, whatever it is (numbers too large
        for a float, nesting too deep for the parser, wrong types)."""
        model = cls()
        try:
            if isinstance(data, str | bytes | bytearray):
                data = json.loads(data)
            if not isinstance(data, Mapping):
                raise ValueError(f"a JSON object was expected, got {type(data).__name__}")
            if data.get("version") != 1:
                raise ValueError("unknown version")
            kinds = data.get("kinds")
            if not isinstance(kinds, Mapping):
                raise ValueError("'kinds' is not an object")
            for kind, bins in kinds.items():
                counts = _read_bins(kind, bins, _BINS)
                model._counts[kind] = counts
                model._totals[kind] = sum(counts)
            progress = data.get("progress_ends", {})  # absent from models saved before it
            if not isinstance(progress, Mapping):
                raise ValueError("'progress_ends' is not an object")
            for kind, bins in progress.items():
                ends = model._progress[kind] = _read_bins(kind, bins, _PROGRESS_BINS)
                model._progress_totals[kind] = sum(ends)
        except (RecursionError, ValueError) as exc:
            # json.loads raises RecursionError for nesting deeper than the interpreter's
            # stack, and ValueError (JSONDecodeError, UnicodeDecodeError, an integer of
            # more digits than int() reads) for the rest.
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise InvalidArgumentError(f"not a duration model: {reason}") from None
        return model

    def __repr__(self) -> str:
        learned = ", ".join(f"{k}={self._totals[k]:g}" for k in sorted(self._totals))
        return f"<DurationModel {learned or 'empty'}>"


def _count(
    bins: dict[str, list[float]], totals: dict[str, float], kind: str, i: int, n: int
) -> None:
    """One more end of ``kind`` in its bin ``i`` (of ``n``); past ``HALF_LIFE_WEIGHT`` in
    all, every bin of the kind is halved, so old ends fade."""
    counts = bins.get(kind)
    if counts is None:
        counts = bins[kind] = [0.0] * n
    counts[i] += 1.0
    total = totals.get(kind, 0.0) + 1.0
    if total > HALF_LIFE_WEIGHT:
        for j, c in enumerate(counts):
            counts[j] = c / 2
        total /= 2
    totals[kind] = total


def _read_bins(kind: object, bins: object, n: int) -> list[float]:
    """One kind's ``{"i": count}`` bins from :meth:`DurationModel.to_json`, as ``n``
    counts; raises ``ValueError`` for anything else."""
    if not isinstance(kind, str):
        raise ValueError("a kind name is not text")
    if not isinstance(bins, Mapping):
        raise ValueError(f"kind {kind!r}: bins are not an object")
    counts = [0.0] * n
    for key, value in bins.items():
        i = int(key) if isinstance(key, str) and _BIN_KEY.fullmatch(key) else -1
        if not 0 <= i < n:
            raise ValueError(f"bin {key!r} out of range")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"bin {key!r} has a count that is not a number")
        try:
            count = float(value)
        except OverflowError:  # an int of 309 digits or more
            count = math.inf
        if not (count >= 0 and math.isfinite(count)):
            raise ValueError(f"bin {key!r} has a bad count")
        counts[i] = count
    if not math.isfinite(sum(counts)):
        raise ValueError(f"kind {kind!r}: the counts add up past a float")
    return counts


def sparse_map(counts: list[float], budget: float) -> list[float | None]:
    """Per bin of ``counts`` (a kind's learned ends): the age its sparse stretch ends at
    (the lower edge of the next dense bin), or ``None`` for a dense bin; see
    :meth:`DurationModel.sparse_until`."""
    n = len(counts)
    filled = [i for i, c in enumerate(counts) if c]
    if not filled:
        return [None] * n
    first, last = filled[0], filled[-1]
    # The ages before the first learned end are not free: the next end comes before all n
    # learned ones with chance 1/(n+1), so one unseen end (by weight) lies below the first.
    reach = _reach(counts, filled)
    tail = _tail(counts, first, reach)
    smooth = [0.0] * n
    for i in filled:
        # spread over the neighbours between the first and the last learned end: the
        # smoothing fills gaps between ends; below the first, the unseen end speaks
        lo, hi = max(first, i - reach), min(last, i + reach)
        weights = [reach + 1 - abs(j - i) for j in range(lo, hi + 1)]
        share = counts[i] / sum(weights)
        for j, w in zip(range(lo, hi + 1), weights, strict=True):
            smooth[j] += share * w
    for j, unseen in tail.items():
        smooth[j] += unseen
    start = min(tail, default=first)
    total = sum(smooth)
    hazard: list[tuple[float, int]] = []  # (ends per second per task still running, bin)
    survivors = total
    for i in range(start, last + 1):
        width = _EDGES[i + 1] - (_EDGES[i] if i else 0.0)
        hazard.append((smooth[i] / (width * survivors), i))
        survivors -= smooth[i]
        if survivors <= total * 1e-9:
            break  # every later bin is past the last learned end: dense
    sparse = [i < start for i in range(n)]  # below the unseen end's reach: nothing learned
    spent = 0.0
    allowed = budget * sum(counts)
    for _, i in sorted(hazard):
        # the lowest hazards first; a bin costs the ends learned in it or the ends its
        # neighbours spread into it, whichever is more: both are ends it would see late
        cost = counts[i] if counts[i] > smooth[i] else smooth[i]
        if spent + cost > allowed:
            break
        spent += cost
        sparse[i] = True
    out: list[float | None] = [None] * n
    next_dense = _EDGES[n]
    for i in range(n - 1, -1, -1):
        if sparse[i]:
            out[i] = next_dense
        else:
            next_dense = _EDGES[i] if i else 0.0
    return out


def _reach(counts: list[float], filled: list[int]) -> int:
    """How many bins either side an end is spread over: ``_SMOOTH`` at least, wider for a
    kind whose ends are few and spread (a kernel density's usual width, 1.06 standard
    deviations of the log-durations times the weight to the power -1/5), so that gaps
    between a few spread-out ends are read as sampling noise, not as ages where nothing
    ends."""
    total = sum(counts[i] for i in filled)
    mean = sum(i * counts[i] for i in filled) / total
    var = sum(counts[i] * (i - mean) ** 2 for i in filled) / total
    return max(_SMOOTH, round(1.06 * math.sqrt(var) * math.pow(total, -0.2)))


def _tail(counts: list[float], first: int, reach: int) -> dict[int, float]:
    """The unseen end below the first learned one, by bin: a weight of one spread over the
    bins below ``first``, most next to it and fading downwards, over as many bins as the
    first ``_TAIL_ENDS`` learned ends span (at least ``reach + 1``)."""
    running, last3 = 0.0, first
    for i in range(first, len(counts)):
        running += counts[i]
        last3 = i
        if running >= _TAIL_ENDS:
            break
    span = min(first, max(reach + 1, last3 - first))
    if span <= 0:
        return {}
    weights = {first - k: float(span + 1 - k) for k in range(1, span + 1)}
    whole = sum(weights.values())
    return {j: w / whole for j, w in weights.items()}
