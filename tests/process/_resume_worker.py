"""Subprocess for test_resume_process.py: watch tasks from a simulator with a checkpoint.

``python tests/process/_resume_worker.py URL PROJECT DB start TASKS.json`` watches the tasks in
the file; ``... resume`` watches what the checkpoint says is unfinished. Each terminal
event is printed as one JSON line (flushed) as it is delivered; ``{"done": n}`` ends a
run that finished. The parent kills the ``start`` run with SIGKILL part-way through.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from modelarts_poller import (
    Backoff,
    Checkpoint,
    Engine,
    ModelArtsClient,
    PollPolicy,
    TaskCompleted,
    TaskEvent,
    TaskFailed,
    TokenAuth,
)
from modelarts_poller.simulator import spec_of

POLICY = PollPolicy(interval=Backoff(initial=0.1, maximum=0.3), progress_aware=False)


def report(event: TaskEvent) -> None:
    line: dict[str, Any] = {"key": Checkpoint.key(event.spec)}
    if isinstance(event, TaskCompleted):
        line["outcome"] = "completed"
    else:
        assert isinstance(event, TaskFailed)
        line["outcome"] = "failed"
        line["reason"] = event.reason.value
    print(json.dumps(line), flush=True)


async def main(url: str, project: str, db: str, mode: str, tasks: list[Any]) -> None:
    async with (
        ModelArtsClient(project_id=project, auth=TokenAuth("resume"), endpoint=url) as client,
        Engine(client=client, policy=POLICY, checkpoint=Checkpoint(db), on_exit="drain") as engine,
    ):
        engine.subscribe(report, types=(TaskCompleted, TaskFailed))
        if mode == "start":
            handles = engine.watch_many(spec_of(t) for t in tasks)
        else:
            handles = engine.resume()
        print(json.dumps({"watching": len(handles)}), flush=True)
        await engine.wait(handles)
        print(json.dumps({"done": len(handles)}), flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    tasks = json.loads(Path(args[4]).read_text()) if len(args) > 4 else []
    asyncio.run(main(args[0], args[1], args[2], args[3], tasks))
