"""The official ModelArts SDK (``huaweicloudsdkmodelarts``) as an oracle, read at test time.

Nothing here copies the SDK's tables: each fact is read from the installed SDK when asked.

- :func:`operation` builds an SDK request object and reads the operation's HTTP method,
  resource path, path parameters and response model through the SDK client's own
  ``_<operation>_http_info`` class method; nothing is sent.
- :func:`problems` walks a JSON body against an SDK model's ``openapi_types`` and
  ``attribute_map``: every field must be declared, of the declared type, recursively; status
  fields (``status``, ``phase``, ``secondary_phase``) must hold a value the model's Chinese
  docstring documents.
- :func:`deserialize` runs a body through the SDK client's own deserializer (the code an
  SDK user's response goes through).
- :func:`documented` reads the values a model's docstring lists for one attribute.

Which SDK operation serves which simulator kind is this module's one table (``OPERATIONS``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from typing import Any

import huaweicloudsdkmodelarts.v1 as sdk
from huaweicloudsdkmodelarts.v1.modelarts_client import ModelArtsClient

# kind -> what the call does -> the SDK operation (a ModelArtsClient method name).
OPERATIONS: dict[str, dict[str, str]] = {
    "infer_service": {
        "show": "show_infer_service",
        "create": "create_infer_service",
        "start": "start_infer_service",
        "stop": "stop_infer_service",
        "list": "list_infer_services",
    },
    "notebook": {
        "show": "show_notebook",
        "create": "create_notebook",
        "start": "start_notebook",
        "stop": "stop_notebook",
        "list": "list_notebooks",
    },
    "dev_server": {
        "show": "show_dev_server",
        "create": "create_dev_server",
        "start": "start_dev_server",
        "stop": "stop_dev_server",
        "list": "list_dev_servers",
    },
    "pool": {"show": "show_pool", "create": "create_pool", "list": "list_pools"},
    "workflow_execution": {
        "show": "show_workflow_execution",
        "create": "create_workflow_execution",
        "stop": "create_workflow_executions_actions",
        "list": "list_workflow_executions",
    },
    "training_job": {
        "show": "show_training_job_details",
        "create": "create_training_job",
        "stop": "stop_training_job",
        "list": "list_training_jobs",
    },
}
# Attributes whose documented values are checked wherever a model declares them.
STATUS_ATTRIBUTES = ("status", "phase", "secondary_phase")
_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float, Decimal),
    "bool": (bool,),
}
_LISTED = re.compile(r"-\s*([A-Za-z][A-Za-z_]*)\s*[：:]")


def _camel(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


def model(name: str) -> Any:
    """The SDK model class called ``name``."""
    return getattr(sdk, name)


def operation(name: str, **params: Any) -> dict[str, Any]:
    """The SDK's ``http_info`` of operation ``name`` for a request built from ``params``:
    ``method``, ``resource_path``, ``path_params``, ``response_type`` and more."""
    request = model(_camel(name) + "Request")(**params)
    info: dict[str, Any] = getattr(ModelArtsClient, f"_{name}_http_info")(request)
    return info


def url(name: str, project_id: str, **params: Any) -> tuple[str, str, str]:
    """``(method, path, response model)`` of an SDK operation, its path filled in as the
    SDK fills it (the project ID and the request's path parameters)."""
    info = operation(name, **params)
    values = {"project_id": project_id, **info["path_params"]}
    path = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), info["resource_path"])
    return info["method"], path, info["response_type"]


@cache
def documented(model_name: str, attribute: str) -> frozenset[str]:
    """The values the docstring of ``model_name.attribute`` lists (empty when none)."""
    prop = getattr(model(model_name), attribute, None)
    doc = getattr(prop, "__doc__", None) or ""
    return frozenset(_LISTED.findall(doc))


def problems(type_name: str, value: Any, where: str = "$") -> list[str]:
    """Every way ``value`` (decoded JSON) differs from SDK type ``type_name``."""
    if value is None:
        return []
    if type_name.startswith("list["):
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__}, declared {type_name}"]
        inner = type_name[5:-1]
        return [p for i, v in enumerate(value) for p in problems(inner, v, f"{where}[{i}]")]
    if type_name.startswith("dict("):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, declared {type_name}"]
        inner = type_name[5:-1].split(", ", 1)[1]
        return [p for k, v in value.items() for p in problems(inner, v, f"{where}.{k}")]
    if type_name == "object":
        return []
    if type_name in _PRIMITIVES:
        ok = isinstance(value, _PRIMITIVES[type_name])
        if type_name in ("int", "float") and isinstance(value, bool):
            ok = False
        return [] if ok else [f"{where}: {value!r} is not {type_name}"]
    cls = model(type_name)
    if not isinstance(value, dict):
        return [f"{where}: {type(value).__name__}, declared model {type_name}"]
    by_json = {json_name: attr for attr, json_name in cls.attribute_map.items()}
    out = []
    for key, item in value.items():
        attr = by_json.get(key)
        if attr is None:
            out.append(f"{where}.{key}: not declared by {type_name}")
            continue
        declared = cls.openapi_types[attr]
        out.extend(problems(declared, item, f"{where}.{key}"))
        if attr in STATUS_ATTRIBUTES and declared == "str" and isinstance(item, str):
            values = documented(type_name, attr)
            if values and item not in values:
                out.append(f"{where}.{key}: {item!r} not documented by {type_name}.{attr}")
    return out


class _Answer:
    """What the SDK's deserializer reads of an HTTP response: its headers and text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.headers = {"Content-Type": "application/json"}


def deserialize(type_name: str, text: str) -> Any:
    """``text`` (a JSON answer) through the SDK client's public ``deserialize``, the code an
    SDK user's response goes through (it warns on a value it cannot convert; the suite turns
    warnings into errors)."""
    return ModelArtsClient().deserialize(_Answer(text), type_name, None)
