"""What the kinds of resources that live on (``infer_service``, ``notebook``,
``dev_server``) share: their list answers' shape and paging, and the spec a start or a
stop call returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from .. import _parsing as p
from .._errors import InvalidArgumentError
from .._kind import ListPaging, ModelArtsTask, Transport, send_stop
from .._validate import check_id

S = TypeVar("S", bound=ModelArtsTask)

# These lists take a record offset; 100 a page is within what each of them allows except
# the notebook list's (10, 20 or 50), which declares its own.
BY_RECORD = ListPaging(100, by_record=True)


def data_page(parse: Callable[..., Any]) -> Callable[[object], tuple[int, tuple[Any, ...]]]:
    """The page parser of a list that answers ``{"data": [...], "total": N, "current",
    "size", "pages"}``: ``(total, items)``, each item read by ``parse``."""

    def page(data: object) -> tuple[int, tuple[Any, ...]]:
        d = p.obj(data, "")
        items = p.opt_list(d, "data", "", parse) or ()
        total = p.opt_int(d, "total", "")
        return (len(items) if total is None else total), items

    return page


def spec_for(spec_type: type[S], spec_or_id: S | str, project_id: str | None) -> S:
    """``spec_or_id`` as a spec of ``spec_type`` (an ID makes one in ``project_id``)."""
    if isinstance(spec_or_id, spec_type):
        return spec_or_id
    if isinstance(spec_or_id, str):
        check_id(spec_type.ID_NAMES[0], spec_or_id)
        return spec_type(spec_or_id, project_id=project_id)  # type: ignore[call-arg]
    raise InvalidArgumentError(f"expected a {spec_type.__name__} or its ID, got {spec_or_id!r}")


def until(spec: S, values: frozenset[Any]) -> S:
    """``spec``, done when its resource reaches one of ``values``."""
    out: S = attrs.evolve(spec, success=values)  # type: ignore[misc]
    return out


async def stop_until_stopped(
    client: Transport, spec_type: type[S], spec_or_id: S | str, project_id: str | None
) -> S:
    """Send the kind's stop call (its ``STOP``) for ``spec_or_id`` and return the spec that
    watches it until it reaches one of the call's stopped values."""
    spec = spec_for(spec_type, spec_or_id, project_id)
    await send_stop(client, spec)
    call = spec_type.STOP
    assert call is not None  # send_stop refused a kind without one
    return until(spec, call.stopped)
