"""A notebook driven by random starts, stops and waits over 127.0.0.1 HTTP at the official
SDK's paths: every answer passes the SDK's response model (``tests/sdk_oracle``), each
refusal carries the published notebook code a small model of the instance predicts, and
the shown status belongs to the operation the model says is under way."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import aiohttp
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from modelarts_poller.simulator import Simulator, SimulatorConfig
from tests.budget import examples
from tests.sdk_oracle import OPERATIONS, deserialize, model, operation, problems, url

P = "sim-project"
# What the shown status may be while an operation runs, and once it has ended.
UNDER_WAY = {"create": {"INIT", "CREATING"}, "start": {"STARTING"}, "stop": {"STOPPING"}}
ENDED = {"create": "RUNNING", "start": "RUNNING", "stop": "STOPPED"}


class NotebookMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.t = 0.0
        self.loop = asyncio.new_event_loop()
        self.sim = Simulator(SimulatorConfig(seed=7), clock=lambda: self.t)
        self.loop.run_until_complete(self.sim.__aenter__())
        self.http = self.loop.run_until_complete(self._session())
        script = self.sim.add("notebook", queue=1, run=40)
        self.ids = list(script.ids)
        self.op = "create"
        self.finishes = script.finishes

    async def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(self.sim.url)  # made on the machine's own loop

    def teardown(self) -> None:
        self.loop.run_until_complete(self.http.close())
        self.loop.run_until_complete(self.sim.__aexit__(None, None, None))
        self.loop.close()

    def _call(self, what: str) -> tuple[int, Any]:
        name = OPERATIONS["notebook"][what]
        template = operation(name)["resource_path"]
        (id_name,) = [n for n in re.findall(r"\{(\w+)\}", template) if n != "project_id"]
        method, path, response_type = url(name, P, **{id_name: self.ids[0]})

        async def send() -> tuple[int, str]:
            async with self.http.request(method, path) as resp:
                return resp.status, await resp.text()

        status, text = self.loop.run_until_complete(send())
        if status == 200:
            assert problems(response_type, json.loads(text)) == [], text
            assert isinstance(deserialize(response_type, text), model(response_type))
        return status, json.loads(text)

    def _near_an_end(self) -> bool:
        return abs(self.t - self.finishes) < 1e-6

    def _began(self, op: str) -> None:
        self.op = op
        (task,) = self.sim.truth()
        self.finishes = task["finishes"]

    @rule(dt=st.floats(min_value=0.5, max_value=60))
    def wait(self, dt: float) -> None:
        self.t += dt

    @rule()
    def start(self) -> None:
        if self._near_an_end():
            return
        under_way = self.t < self.finishes
        status, body = self._call("start")
        if under_way:
            code = "ModelArts.6308" if self.op == "stop" else "ModelArts.6306"
            assert (status, body["error_code"]) == (400, code)
        elif self.op != "stop":
            assert (status, body["error_code"]) == (400, "ModelArts.6305")
        else:
            assert status == 200
            self._began("start")

    @rule()
    def stop(self) -> None:
        if self._near_an_end():
            return
        under_way = self.t < self.finishes
        status, body = self._call("stop")
        if self.op == "stop":
            code = "ModelArts.6308" if under_way else "ModelArts.6307"
            assert (status, body["error_code"]) == (400, code)
        elif under_way and self.op == "start":
            assert (status, body["error_code"]) == (400, "ModelArts.6306")
        else:
            assert status == 200
            self._began("stop")

    @invariant()
    def shows_the_operation_under_way(self) -> None:
        if self._near_an_end():
            return
        status, body = self._call("show")
        assert status == 200
        if self.t < self.finishes:
            assert body["status"] in UNDER_WAY[self.op], (self.op, body["status"])
        else:
            assert body["status"] == ENDED[self.op], (self.op, body["status"])


NotebookMachine.TestCase.settings = settings(
    max_examples=examples(30), stateful_step_count=20, deadline=None
)
test_a_notebook_started_and_stopped_at_random = NotebookMachine.TestCase
