"""The built-in ModelArts kinds (operations), one module each, every fact written once.

Importing this package registers every built-in kind (in the order below, which is the
order :func:`~modelarts_poller.kinds` lists them). A kind module declares its status
enum, its phase table, its snapshot model (each field saying where it is on the wire),
its spec, and its start and list calls; :func:`declare` derives the rest. A kind of your
own uses the same helpers, exported here. The kinds reach the client only through the
:class:`Transport` protocol (and ``ModelArtsAPI``'s ``get_task``): no kind imports the client.
"""

from __future__ import annotations

from .._kind import (
    ListPaging,
    StopCall,
    Transport,
    id_answer,
    id_field,
    no_answer,
    project_field,
    send_stop,
    success_field,
)
from .._parsing import StatusMixin, extra_field
from . import (
    dataset,
    dataset_task,
    dev_server,
    export,
    import_task,
    infer_service,
    intelligent_task,
    model,
    notebook,
    pool,
    processing_task,
    service,
    sync,
    training_job,
    version,
    workflow_execution,
)
from ._declare import (
    choice,
    declare,
    derived,
    flag,
    integer,
    items,
    nested,
    number,
    parser,
    phase_table,
    read,
    str_map,
    text,
)

__all__ = [
    "ListPaging",
    "StatusMixin",
    "StopCall",
    "Transport",
    "choice",
    "dataset",
    "dataset_task",
    "declare",
    "derived",
    "dev_server",
    "export",
    "extra_field",
    "flag",
    "id_answer",
    "id_field",
    "import_task",
    "infer_service",
    "integer",
    "intelligent_task",
    "items",
    "model",
    "nested",
    "no_answer",
    "notebook",
    "number",
    "parser",
    "phase_table",
    "pool",
    "processing_task",
    "project_field",
    "read",
    "send_stop",
    "service",
    "str_map",
    "success_field",
    "sync",
    "text",
    "training_job",
    "version",
    "workflow_execution",
]
