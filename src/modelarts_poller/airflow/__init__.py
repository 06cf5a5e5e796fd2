"""Watching ModelArts tasks from Apache Airflow (``pip install 'modelarts-poller[airflow]'``).

This package never imports Airflow. It holds the part that needs none: ``SharedEngines``
gives every trigger-shaped coroutine of one event loop that uses the same connection one
shared ``ModelArtsClient`` and ``Engine``; ``connection_from_fields`` reads the
``huaweicloud`` connection shape; ``event_payload`` is the JSON a trigger yields. The Airflow
classes live in its modules ``triggers`` (``ModelArtsTaskTrigger``), ``operators``,
``sensors`` (``ModelArtsTaskSensor``) and ``hooks`` (``ModelArtsHook``), which import
Airflow 3. See docs/airflow.md.
"""

from ._payload import MAX_PAYLOAD_BYTES, event_payload
from ._shared import (
    Connection,
    SharedEngines,
    connection_from_fields,
    policy_from_options,
    rate_limiter_from_path,
    token_for,
)

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "Connection",
    "SharedEngines",
    "connection_from_fields",
    "event_payload",
    "policy_from_options",
    "rate_limiter_from_path",
    "token_for",
]
