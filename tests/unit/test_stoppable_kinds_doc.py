"""docs/kinds.md's table of which kinds can be stopped says what each registered kind
declares (``spec.STOP``): a kind whose stop call is added, changed or dropped fails here
until the table says so."""

from __future__ import annotations

import re
from pathlib import Path

from modelarts_poller import kinds

DOC = Path(__file__).resolve().parents[2] / "docs" / "kinds.md"


def _table() -> dict[str, tuple[str, set[str]]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Which kinds can be stopped", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, set[str]]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        name, call, stopped = cells
        rows[name.strip("`")] = (call.strip("`"), set(re.findall(r"`([^`]+)`", stopped)))
    return rows


def test_the_table_names_every_kind_and_its_stop_call() -> None:
    table = _table()
    declared = {k.name: k.spec_type.STOP for k in kinds() if not k.name.startswith("toy")}
    assert set(table) == set(declared)
    for name, stop in declared.items():
        call, stopped = table[name]
        if stop is None:
            assert (call, stopped) == ("none", set()), name
        else:
            assert call == f"{stop.method} {stop.path}", name
            assert stopped == {str(v) for v in stop.stopped}, name
