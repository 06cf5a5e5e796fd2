"""The published error dialect: every error the simulator answers, with its status and code.

Each code here appears in the ModelArts error-code table (OTC ``appendix/error_codes.rst``,
Huawei ``错误码.md``), the API gateway's published authentication and throttling answers,
or IAM's error table; ``docs/simulator.md`` lists them. Bodies are the flat
``{"error_code", "error_msg"}`` shape (gateway answers add ``request_id``, as the gateway
does), except the v1 model and service APIs', which publish theirs as
``{"is_success": false, "error_code", "error_message"}``; every answer carries an
``X-Request-Id`` header.
"""

from __future__ import annotations

import itertools
import json
import secrets

from aiohttp import web

JSON = "application/json"

_counter = itertools.count(1)
# One random prefix per process keeps IDs unique across simulators without a urandom call
# per answer.
_PREFIX = secrets.token_hex(8)


def request_id() -> str:
    """A unique request ID (32 hex digits)."""
    return f"{_PREFIX}{next(_counter):016x}"


def error(
    status: int,
    code: str,
    msg: str,
    *,
    gateway: bool = False,
    v1: bool = False,
    headers: dict[str, str] | None = None,
) -> web.Response:
    rid = request_id()
    body: dict[str, object]
    if v1:
        body = {"is_success": False, "error_code": code, "error_message": msg}
    else:
        body = {"error_code": code, "error_msg": msg}
    if gateway:
        body["request_id"] = rid
    out = {"X-Request-Id": rid}
    if headers:
        out.update(headers)
    return web.Response(status=status, text=json.dumps(body), content_type=JSON, headers=out)


# -- authentication and permission ----------------------------------------------------------


def bad_signature() -> web.Response:
    return error(
        401,
        "APIGW.0301",
        "Incorrect IAM authentication information: verify aksk signature fail",
        gateway=True,
    )


def bad_token() -> web.Response:
    return error(
        401,
        "APIGW.0301",
        "Incorrect IAM authentication information: decrypt token fail",
        gateway=True,
    )


def no_token() -> web.Response:
    return error(401, "ModelArts.0201", "Token doesn't exist.")


def token_expired() -> web.Response:
    return error(401, "ModelArts.0202", "Invalid token header because the token has expired.")


def token_undecodable() -> web.Response:
    return error(401, "ModelArts.0203", "Invalid token.")


def project_mismatch() -> web.Response:
    return error(
        403, "ModelArts.0210", "The project id in the request URL does not match the token"
    )


# -- throttling and server faults ------------------------------------------------------------


def throttled(limit: int, unit: str, retry_after: str) -> web.Response:
    return error(
        429,
        "APIGW.0308",
        "The throttling threshold has been reached: "
        f"policy user over ratelimit,limit:{limit},time:1 {unit}",
        gateway=True,
        headers={"Retry-After": retry_after},
    )


def internal_error() -> web.Response:
    return error(500, "ModelArts.0010", "Internal error.")


def backend_unavailable() -> web.Response:
    return error(
        503, "ModelArts.4302", "Gateway forwarding error because the backend is not available."
    )


# -- requests the API refuses ----------------------------------------------------------------


def parameter_error() -> web.Response:
    return error(400, "ModelArts.0104", "Parameter error.")


def invalid_export_parameter() -> web.Response:
    return error(400, "ModelArts.4384", "Invalid export parameter")


def invalid_export_path() -> web.Response:
    return error(400, "ModelArts.4358", "Invalid export path")


def sync_running() -> web.Response:
    return error(400, "ModelArts.4355", "Sync data source task exist")


def import_running() -> web.Response:
    return error(400, "ModelArts.4356", "Dataset already has running import task")


def version_too_soon() -> web.Response:
    return error(
        400,
        "ModelArts.4370",
        "One dataset version can be released in a minute, please try again later",
    )


def dataset_missing() -> web.Response:
    return error(400, "ModelArts.4352", "Dataset does not exist")


# What a status request for an unknown task of each kind answers (the dataset exists).
_MISSING: dict[str, tuple[int, str, str]] = {
    "export": (400, "ModelArts.4359", "Export task does not exist"),
    "version": (400, "ModelArts.4353", "Dataset version does not exist"),
    "import": (400, "ModelArts.4612", "Task not found"),
    "intelligent_task": (400, "ModelArts.4612", "Task not found"),
    "processing_task": (400, "ModelArts.4612", "Task not found"),
    "dataset_task": (400, "ModelArts.4612", "Task not found"),
    "training_job": (400, "ModelArts.2775", "Training job (ID: {id}) not found."),
    "model": (404, "ModelArts.3001", "Model ({id}) does not exist."),
    "service": (404, "ModelArts.3502", "Service {id} does not exist."),
    "dataset": (400, "ModelArts.4352", "Dataset does not exist"),
    "infer_service": (404, "ModelArts.3502", "Service {id} does not exist."),
    "notebook": (400, "ModelArts.6309", "The instance does not exist."),
    "pool": (404, "ModelArts.2890", "PoolNotFound"),
    # Neither API publishes a code of its own: the table's generic "resource not exists".
    "dev_server": (400, "ModelArts.4338", "The resource not exists"),
    "workflow_execution": (400, "ModelArts.4338", "The resource not exists"),
}


# The v1 APIs among them, which publish the v1 failure shape.
_V1 = frozenset({"model", "service"})


def task_missing(kind: str, own_id: str) -> web.Response:
    status, code, msg = _MISSING[kind]
    return error(status, code, msg.format(id=own_id), v1=kind in _V1)


# -- start and stop calls refused in a resource's current state -------------------------------


def not_allowed_to_terminate() -> web.Response:
    """Terminating a training job that has already ended."""
    return error(409, "ModelArts.2796", "NotAllowedToTerminate")


# Notebook start and stop refusals: (status, code, message) of the published table.
NOTEBOOK_REFUSALS = {
    "running": (400, "ModelArts.6305", "The instance is already running."),
    "starting": (400, "ModelArts.6306", "The instance is starting."),
    "stopped": (400, "ModelArts.6307", "The instance has already been stopped."),
    "stopping": (400, "ModelArts.6308", "The instance is stopping."),
}


def notebook_refusal(why: str) -> web.Response:
    status, code, msg = NOTEBOOK_REFUSALS[why]
    return error(status, code, msg)


# -- IAM (its own shapes, not ModelArts') ----------------------------------------------------


def iam_bad_request() -> web.Response:
    # IAM's flat shape and its published 400 code for an invalid request parameter.
    return error(400, "IAM.0007", "Request parameter auth is invalid.")


def iam_unauthorized() -> web.Response:
    # The token API refuses a wrong password in the Keystone style it inherits.
    body = {
        "error": {
            "code": 401,
            "title": "Unauthorized",
            "message": "The request you have made requires authentication.",
        }
    }
    return web.Response(
        status=401,
        text=json.dumps(body),
        content_type=JSON,
        headers={"X-Request-Id": request_id()},
    )
