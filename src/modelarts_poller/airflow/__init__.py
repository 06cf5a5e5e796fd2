"""Watching ModelArts tasks from Apache Airflow triggers: the part that needs no Airflow.

``SharedEngines`` gives every trigger-shaped coroutine of one event loop that uses the same
connection one shared ``ModelArtsClient`` and ``Engine``; ``connection_from_fields`` reads
the ``huaweicloud`` connection shape; ``event_payload`` is the JSON a trigger yields. The
Airflow classes (trigger, operators, sensor, hook) are not built yet: see docs/airflow.md.
"""

from ._shared import (
    Connection,
    SharedEngines,
    connection_from_fields,
    event_payload,
    token_for,
)

__all__ = [
    "Connection",
    "SharedEngines",
    "connection_from_fields",
    "event_payload",
    "token_for",
]
