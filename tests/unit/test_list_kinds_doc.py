"""docs/engine.md's "What a list sees" names the list call of every registered kind that
declares one (``spec.LIST_PATH``), with its page size: a kind that gains, changes or drops
a list call fails here until the docs say so."""

from __future__ import annotations

from pathlib import Path

from modelarts_poller import kinds

DOC = Path(__file__).resolve().parents[2] / "docs" / "engine.md"


def _bullet() -> str:
    text = DOC.read_text(encoding="utf-8")
    return " ".join(text.split("- **What a list sees.**", 1)[1].split("\n- **", 1)[0].split())


def test_every_kind_with_a_list_call_is_named_with_its_path_and_page_size() -> None:
    bullet = _bullet()
    listed = [k for k in kinds() if k.spec_type.LIST_PATH and not k.name.startswith("toy")]
    assert listed, "no kind declares a list call"
    for kind in listed:
        spec = kind.spec_type
        tail = spec.LIST_PATH.rsplit("/", 1)[1]
        method = spec.LIST_PAGING.method
        assert f"`{method} .../{tail}`" in bullet, (kind.name, method, tail)
        paging = spec.LIST_PAGING
        if paging.unpaged:
            assert "in one answer" in bullet, kind.name
        else:
            after = bullet.split(f".../{tail}`", 1)[1][:40]
            assert f"{paging.size} per page" in after, (kind.name, paging.size, after)
