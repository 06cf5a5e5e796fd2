"""What a ModelArts operation is, as data: the base of every operation's spec, the one
registry the CLI, continuation tokens and the simulator's ``spec_of`` find kinds in, and
the ``Transport`` protocol through which a kind's start and list calls reach the client.

Each built-in kind is declared in a module of :mod:`modelarts_poller.operations`, whose
``declare`` fills a spec's class attributes from one declaration and registers its
:class:`Kind`; a user declares their own ModelArts kind the same way.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, ClassVar, Protocol, TypeVar

import attrs

from ._errors import InvalidArgumentError, NotStoppableError, ParseError
from ._phase import Phase
from ._specs import Observation, TaskSpec
from ._validate import check_id

T = TypeVar("T")


class Transport(Protocol):
    """What an operation's start and list calls send requests through: the seam between
    the kinds and the client. :class:`~modelarts_poller.ModelArtsClient` is one; the kinds
    import no client."""

    async def request(
        self,
        method: str,
        template: str,
        parse: Callable[[object], T],
        *,
        ids: Mapping[str, str] | None = None,
        body: Mapping[str, object] | None = None,
        query: Mapping[str, object] | None = None,
        project_id: str | None = None,
    ) -> T: ...


def _success(value: object) -> frozenset[Any] | None:
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidArgumentError(f"success must be a set of status values, got {value!r}")
    try:
        out = frozenset(value)
    except TypeError:
        raise InvalidArgumentError(
            f"success must be a set of status values (strings or integers), got {value!r}"
        ) from None
    if not out:
        raise InvalidArgumentError("success must name at least one status value")
    return out


def success_field() -> Any:
    """The ``success`` option of every operation spec: the remote status values that end
    the watch as completed, instead of the kind's documented choice."""
    return attrs.field(default=None, kw_only=True, converter=_success)


def project_field() -> Any:
    return attrs.field(
        default=None,
        kw_only=True,
        validator=lambda _i, _a, v: v is None or check_id("project_id", v),
    )


def id_field(name: str | None = None) -> Any:
    """An ID field of a spec, checked as :func:`check_id` checks IDs (named ``name``, by
    default the field's own name)."""
    return attrs.field(validator=lambda _i, a, v: check_id(name or a.name, v))


@attrs.frozen
class StopCall:
    """A kind's stop call, declared once with the kind: the request that asks ModelArts to
    stop a task (``method``, ``path``: a template over ``project_id`` and the spec's IDs,
    and the JSON ``body``, if any) and ``stopped``, the raw status values in which the
    remote task has stopped (what a watch that asked for the stop waits for)."""

    method: str
    path: str
    stopped: frozenset[Any]
    body: Mapping[str, object] | None = None


@attrs.frozen
class ListPaging:
    """How a kind's list call pages: ``size`` items a page (at most what its API takes),
    and whether ``offset`` counts records (``by_record``: the notebook, Lite server, v2
    service and workflow execution lists) or pages (the dataset lists' "start page");
    ``unpaged``: the list takes no paging and one answer holds every item (pools).
    ``method`` is the list call's HTTP method, and ``in_body`` sends ``limit`` and
    ``offset`` as the JSON body's fields instead of query parameters (the training jobs'
    ``POST .../training-job-searches``)."""

    size: int = 100
    by_record: bool = False
    unpaged: bool = False
    method: str = "GET"
    in_body: bool = False

    def query(self, page: int) -> dict[str, int]:
        """The ``limit`` and ``offset`` of page ``page`` (from 0); none if unpaged."""
        if self.unpaged:
            return {}
        return {"limit": self.size, "offset": page * self.size if self.by_record else page}


class ModelArtsTask:
    """The base of an operation's spec: one remote resource read with one GET.

    A subclass is a frozen attrs class whose first fields are its IDs in path order
    (``ID_NAMES``), then ``project_id`` and ``success`` (see :func:`success_field`); it
    sets ``KIND``, ``PATH`` (a ``str.format`` template over ``project_id`` and the IDs),
    ``PARSE`` (JSON -> typed snapshot, raising ``ParseError``) and ``PHASES`` (status
    value -> :class:`Phase`). The snapshot needs ``status``, ``completion`` (or ``None``)
    and, for failures, ``error_msg``/``error_code``.
    """

    __slots__ = ()
    # ModelArtsClient takes a rate grant for each of these requests at the wire.
    WIRE_LIMITED: ClassVar[bool] = True
    KIND: ClassVar[str]
    PATH: ClassVar[str]
    ID_NAMES: ClassVar[tuple[str, ...]]
    PARSE: ClassVar[Callable[[object], Any]]
    PHASES: ClassVar[Mapping[Any, Phase]]
    # A list call that observes every task of a group at once (the export or import tasks
    # of a dataset): its path, the IDs that name the group, and its page parser, which
    # reads items with PARSE so that a listed task says what its own GET would.
    LIST_PATH: ClassVar[str | None] = None
    GROUP_IDS: ClassVar[tuple[str, ...]] = ()
    LIST_PAGE: ClassVar[Callable[[object], tuple[int, tuple[Any, ...]]] | None] = None
    LIST_PAGING: ClassVar[ListPaging] = ListPaging()
    # The kind's stop call; None where the ModelArts API has none.
    STOP: ClassVar[StopCall | None] = None
    project_id: str | None
    success: frozenset[Any] | None

    @property
    def kind(self) -> str:
        return self.KIND

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(getattr(self, name) for name in self.ID_NAMES)

    def fetch(self, api: Any) -> Awaitable[Any]:
        # The client's coroutine itself: one frame fewer on every step of every poll.
        return api.get_task(self)  # type: ignore[no-any-return]

    def group(self) -> tuple[Any, ...]:
        """What names the tasks one list call observes together with this one."""
        return (self.KIND, self.project_id, *(getattr(self, n) for n in self.GROUP_IDS))

    def phase_of(self, status: object) -> Phase:
        """The phase of a status value, with the ``success`` override applied: a value
        in it completes; one the kind counts as success but that is not in it is not
        finished yet (a service that is ``running`` while you wait for ``finished``)."""
        phase = self.PHASES.get(status, Phase.UNKNOWN)
        success = self.success
        if success is None or status is None:
            return phase
        if status in success:
            return Phase.SUCCEEDED
        return Phase.RUNNING if phase is Phase.SUCCEEDED else phase

    def interpret(self, snapshot: Any) -> Observation:
        obs = Observation.of(snapshot)
        if self.success is None:
            return obs
        phase = self.phase_of(snapshot.status)
        if phase is obs.phase:
            return obs
        completion = 1.0 if phase is Phase.SUCCEEDED else None
        if phase is not Phase.SUCCEEDED and obs.phase is not Phase.SUCCEEDED:
            completion = obs.completion
        return Observation(phase, completion, obs.status, obs.message)

    def __str__(self) -> str:
        return f"{self.KIND}:{'/'.join(self.ids)}"


@attrs.frozen
class Kind:
    """One watchable kind: its name (also the CLI's ``--kind``), its spec class, the
    names of its IDs in path order, and other names the CLI accepts."""

    name: str
    spec_type: type[Any]
    id_names: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    description: str = ""
    templates: tuple[str, ...] = ()  # the paths of its start and list calls

    def spec(self, *ids: str, project_id: str | None = None) -> TaskSpec[Any]:
        """The spec for these IDs (in path order)."""
        if len(ids) != len(self.id_names):
            raise InvalidArgumentError(
                f"a {self.name} task is {'/'.join(n.upper() for n in self.id_names)}, "
                f"got {len(ids)} ID(s)"
            )
        spec: TaskSpec[Any] = self.spec_type(*ids, project_id=project_id)
        return spec


_KINDS: dict[str, Kind] = {}
_NAMES: dict[str, str] = {}


def register_kind(kind: Kind, *, replace: bool = False) -> Kind:
    """Make ``kind`` known to the CLI, continuation tokens and ``get_kind``."""
    if not isinstance(kind, Kind):
        raise InvalidArgumentError(f"register_kind takes a Kind, got {kind!r}")
    if not isinstance(kind.name, str) or not kind.name or kind.name != kind.name.strip().lower():
        raise InvalidArgumentError(f"a kind's name must be lower-case text, got {kind.name!r}")
    if not isinstance(kind.spec_type, type):
        raise InvalidArgumentError(f"a kind's spec_type must be a class, got {kind.spec_type!r}")
    ids = kind.id_names
    if not isinstance(ids, tuple) or not all(isinstance(n, str) and n for n in ids):
        raise InvalidArgumentError(f"a kind's id_names must be a tuple of names, got {ids!r}")
    # The CLI, tokens and the spec itself must agree on what the IDs are and what the kind
    # is called: a mismatch would only show when a token or task file is read.
    declared = getattr(kind.spec_type, "ID_NAMES", None)
    if isinstance(declared, tuple) and declared != ids:
        raise InvalidArgumentError(
            f"kind {kind.name!r}: id_names {ids!r} differ from "
            f"{kind.spec_type.__name__}.ID_NAMES {declared!r}"
        )
    names = (kind.name, *kind.aliases)
    for name in names:
        owner = _NAMES.get(name)
        if owner is not None and owner != kind.name and not replace:
            raise InvalidArgumentError(f"kind name {name!r} is taken by {owner!r}")
    if kind.name in _KINDS and not replace and _KINDS[kind.name] != kind:
        raise InvalidArgumentError(f"kind {kind.name!r} is already registered")
    # A token names a task by its spec's kind: that name must lead back to a kind.
    spec_kind = getattr(kind.spec_type, "KIND", None)
    if isinstance(spec_kind, str) and spec_kind not in names and spec_kind not in _NAMES:
        raise InvalidArgumentError(
            f"kind {kind.name!r}: {kind.spec_type.__name__}.KIND is {spec_kind!r}, which is "
            "neither its name, an alias nor a registered kind"
        )
    _KINDS[kind.name] = kind
    for name in names:
        _NAMES[name] = kind.name
    known = {t for _, t in _TEMPLATES}
    path = getattr(kind.spec_type, "PATH", None)  # a kind whose spec does its own I/O has none
    for template in (*((path,) if isinstance(path, str) else ()), *kind.templates):
        if template not in known:
            _TEMPLATES.append((_template_pattern(template), template))
    return kind


_TEMPLATES: list[tuple[re.Pattern[str], str]] = []


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", template)
    body = "".join("[^/?#]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{body}$")


def url_template(path: str) -> str | None:
    """The path template of a request path this library sends (``/v2/p1/datasets/ds1``
    gives ``/v2/{project_id}/datasets/{dataset_id}``), for naming spans and metrics without
    the IDs that would multiply their series; ``None`` for any other path."""
    if not isinstance(path, str):
        raise InvalidArgumentError(f"url_template takes a path str, got {path!r}")
    bare = path.split("?", 1)[0]
    if "://" in bare:
        bare = "/" + bare.split("://", 1)[1].split("/", 1)[-1]
    for pattern, template in _TEMPLATES:
        if pattern.match(bare):
            return template
    return None


def get_kind(name: str) -> Kind:
    """The kind called ``name`` (or one of its aliases)."""
    key = _NAMES.get(name.strip().lower()) if isinstance(name, str) else None
    if key is None:
        raise InvalidArgumentError(
            f"unknown kind {name!r}; known kinds: {', '.join(sorted(_KINDS))}"
        )
    return _KINDS[key]


def kinds() -> tuple[Kind, ...]:
    """Every registered kind, in registration order."""
    return tuple(_KINDS.values())


# --- pieces the operation modules share -----------------------------------------------------


def id_answer(name: str) -> Callable[[object], str]:
    """A parser for a start call's answer that names what it started: ``{name: "..."}``."""

    def parse(data: object) -> str:
        if not isinstance(data, dict):
            raise ParseError("", data, "object")
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise ParseError(name, value, "non-empty string")
        return value

    return parse


async def send_stop(client: Transport, spec: ModelArtsTask) -> None:
    """Send ``spec``'s stop call once through ``client`` (no retry here: the caller's
    policy decides). Raises :class:`NotStoppableError`, sending nothing, where the kind
    has no stop call; a server's refusal raises as any request's does."""
    call = type(spec).STOP if isinstance(spec, ModelArtsTask) else None
    if call is None:
        raise NotStoppableError(
            f"{getattr(spec, 'kind', type(spec).__name__)} tasks have no stop call in the "
            f"ModelArts API; {spec} was not stopped"
        )
    ids = dict(zip(spec.ID_NAMES, spec.ids, strict=True))
    await client.request(
        call.method, call.path, no_answer, ids=ids, body=call.body, project_id=spec.project_id
    )


def no_answer(data: object) -> None:
    """For start calls whose answer carries nothing (any JSON, or no body)."""
    return


def check_page_size(page_size: object) -> int:
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 100:
        raise InvalidArgumentError(f"page_size must be an int from 1 to 100, got {page_size!r}")
    return page_size


async def pages(
    client: Transport,
    template: str,
    ids: Mapping[str, str],
    parse_page: Callable[[object], tuple[int, tuple[Any, ...]]],
    *,
    page_size: int,
    query: Mapping[str, object] | None = None,
    project_id: str | None = None,
    by_record: bool = False,
) -> AsyncIterator[Any]:
    """Every item of a paged list call. ``offset`` is a page index (the API says "start
    page"), or with ``by_record`` a record offset; ``limit`` the page size; it stops at
    ``total_count`` or a short page."""
    check_page_size(page_size)
    paging = ListPaging(page_size, by_record)
    seen = 0
    page = 0
    while True:
        q = {**(query or {}), **paging.query(page)}
        total, items = await client.request(
            "GET", template, parse_page, ids=ids, query=q, project_id=project_id
        )
        for item in items:
            yield item
        seen += len(items)
        if len(items) < page_size or seen >= total:
            return
        page += 1


def json_body(**fields: object) -> dict[str, object]:
    """A request body of the fields given, leaving out those that are ``None``."""
    return {k: v for k, v in fields.items() if v is not None}


def body_fields(name: str, value: object) -> dict[str, object]:
    """A caller's extra body fields (``extra=``, ``config=``) as a new dict; ``None`` is
    none. Anything but a mapping with str keys is refused, naming ``name``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"{name} must be a mapping of body fields, got {value!r}")
    for key in value:
        if not isinstance(key, str):
            raise InvalidArgumentError(f"{name} keys must be str, got {key!r}")
    return dict(value)
