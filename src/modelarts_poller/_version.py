"""The installed distribution's version, read from its metadata: ``pyproject.toml`` is the
one place the version is written, and an install records it there."""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "modelarts-poller"
UNKNOWN = "0+unknown"  # a source tree on sys.path that was never installed


@functools.cache
def installed_version() -> str | None:
    """The installed ``modelarts-poller``'s version, or ``None`` when it is not installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return None


def package_version() -> str:
    """:func:`installed_version`, or ``UNKNOWN`` when the package is not installed."""
    return installed_version() or UNKNOWN
