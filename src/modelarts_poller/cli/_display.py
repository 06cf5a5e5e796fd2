"""The live terminal display: a bar per task up to a limit, then an aggregate."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from .._events import TaskCompleted, TaskEvent, TaskFailed, TaskProgress, TaskRetrying

_STYLE = {"completed": "green", "failed": "red", "retrying": "yellow"}


class _Row:
    __slots__ = ("completion", "counts", "ended", "retries", "since", "state", "status")

    def __init__(self, since: float) -> None:
        self.ended: float | None = None
        self.status = "waiting"
        self.state = "running"
        self.completion: float | None = None
        self.counts = ""
        self.retries = 0
        self.since = since


def _counts(snapshot: Any) -> str:
    # Exports count finished samples; syncs count the samples they added.
    done = getattr(snapshot, "finished_sample_count", None)
    if done is None:
        done = getattr(snapshot, "add_sample_count", None)
    total = getattr(snapshot, "total_sample_count", None)
    if done is None and total is None:
        return ""
    return f"{done if done is not None else '?'}/{total if total is not None else '?'}"


class LiveDisplay:
    """Keeps per-task state from events and renders it; refreshed by the caller."""

    def __init__(self, specs: list[Any], *, max_bars: int = 20, clock: Any = time.monotonic):
        self._clock = clock
        self._start = clock()
        self._rows: dict[Any, _Row] = {spec: _Row(self._start) for spec in specs}
        self._shown = list(self._rows)[:max_bars]
        self._tally: Counter[str] = Counter()
        self.failures: list[TaskFailed] = []

    def on_event(self, event: TaskEvent) -> None:
        row = self._rows.get(event.spec)
        if row is None:
            return
        if isinstance(event, TaskProgress):
            row.status = event.observation.status or event.observation.phase.value
            row.completion = event.observation.completion
            row.counts = _counts(event.snapshot)
        elif isinstance(event, TaskRetrying):
            row.retries += 1
            self._tally["retries"] += 1
        elif isinstance(event, TaskCompleted):
            row.state = "completed"
            row.ended = self._clock()
            row.completion = 1.0
            row.counts = _counts(event.snapshot) or row.counts
            self._tally["completed"] += 1
        elif isinstance(event, TaskFailed):
            row.state = "failed"
            row.ended = self._clock()
            row.status = event.reason.value
            self._tally["failed"] += 1
            self.failures.append(event)

    @property
    def tally(self) -> Counter[str]:
        return self._tally

    def render(self) -> RenderableType:
        now = self._clock()
        table = Table(box=None, pad_edge=False, expand=False, show_header=True)
        table.add_column("task", overflow="ellipsis", max_width=48, no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("progress", width=24)
        table.add_column("%", justify="right")
        table.add_column("samples", justify="right")
        table.add_column("elapsed", justify="right")
        for spec in self._shown:
            row = self._rows[spec]
            bar = ProgressBar(
                total=100 if row.completion is not None or row.state != "running" else None,
                completed=100 * (row.completion or 0.0),
                width=24,
                pulse=row.completion is None and row.state == "running",
                complete_style=_STYLE.get(row.state, "cyan"),
            )
            pct = "" if row.completion is None else f"{100 * row.completion:.0f}%"
            status = Text(row.status, style=_STYLE.get(row.state, ""))
            if row.retries:
                status.append(f" ({row.retries} retries)", style="yellow")
            elapsed = (row.ended if row.ended is not None else now) - row.since
            table.add_row(str(spec), status, bar, pct, row.counts, f"{elapsed:.0f}s")
        total = len(self._rows)
        done = self._tally["completed"] + self._tally["failed"]
        agg = ProgressBar(total=max(total, 1), completed=done, width=40)
        line = Text.assemble(
            (f"{self._tally['completed']} completed", "green"),
            ", ",
            (f"{self._tally['failed']} failed", "red"),
            ", ",
            f"{total - done} running of {total}",
            (f", {self._tally['retries']} retries" if self._tally["retries"] else ""),
            f"  {now - self._start:.0f}s",
        )
        hidden = total - len(self._shown)
        parts: list[RenderableType] = [table]
        if hidden > 0:
            parts.append(Text(f"... and {hidden} more tasks", style="dim"))
        summary = Table.grid(padding=(0, 1))
        summary.add_row(Text("all tasks", style="bold"), agg, line)
        parts.append(summary)
        return Group(*parts)


def summary_table(
    display: LiveDisplay, *, interrupted: bool, max_failures: int = 20
) -> RenderableType:
    """The closing summary: counts, then the failed tasks with their reasons."""
    tally = display.tally
    total = len(display._rows)
    counts = Table(
        title="interrupted: summary so far" if interrupted else "summary", show_header=False
    )
    counts.add_column("outcome")
    counts.add_column("tasks", justify="right")
    counts.add_row(Text("completed", style="green"), str(tally["completed"]))
    counts.add_row(Text("failed", style="red"), str(tally["failed"]))
    unfinished = total - tally["completed"] - tally["failed"]
    if unfinished:
        counts.add_row(Text("not finished", style="yellow"), str(unfinished))
    counts.add_row("retried requests", str(tally["retries"]))
    if not display.failures:
        return counts
    failures = Table(title="failed tasks", show_lines=False)
    failures.add_column("task", overflow="fold")
    failures.add_column("reason")
    failures.add_column("message", overflow="fold")
    for event in display.failures[:max_failures]:
        failures.add_row(str(event.spec), event.reason.value, event.message)
    if len(display.failures) > max_failures:
        failures.add_row(f"... and {len(display.failures) - max_failures} more", "", "")
    return Group(counts, failures)


def make_console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False)
