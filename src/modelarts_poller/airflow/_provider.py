"""What Airflow's provider manager reads (entry point ``apache_airflow_provider``): the
connection type and where the hook, trigger, operators and sensor are. No Airflow import."""

from __future__ import annotations

from typing import Any

from .._version import installed_version


def get_provider_info() -> dict[str, Any]:
    """The provider description Airflow lists (``airflow providers list``)."""
    installed = installed_version()
    versions = [installed] if installed else []  # none from a source tree never installed
    return {
        "package-name": "modelarts-poller",
        "name": "Huawei Cloud ModelArts (modelarts-poller)",
        "description": "Deferrable operators, a sensor and a trigger that watch Huawei Cloud "
        "ModelArts tasks on one shared engine per connection in each triggerer.",
        "versions": versions,
        "connection-types": [
            {
                "connection-type": "huaweicloud_modelarts",
                "hook-class-name": "modelarts_poller.airflow.hooks.ModelArtsHook",
                "hook-name": "Huawei Cloud ModelArts",
            }
        ],
        "hooks": [
            {
                "integration-name": "Huawei Cloud ModelArts",
                "python-modules": ["modelarts_poller.airflow.hooks"],
            }
        ],
        "operators": [
            {
                "integration-name": "Huawei Cloud ModelArts",
                "python-modules": ["modelarts_poller.airflow.operators"],
            }
        ],
        "sensors": [
            {
                "integration-name": "Huawei Cloud ModelArts",
                "python-modules": ["modelarts_poller.airflow.sensors"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Huawei Cloud ModelArts",
                "python-modules": ["modelarts_poller.airflow.triggers"],
            }
        ],
    }
