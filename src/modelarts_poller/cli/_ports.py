"""A port given on the command line, checked where argparse reads it."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def port_type(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` taking a port from ``minimum`` to 65535 (0 means any, where
    allowed); anything else is a usage error naming the text."""

    def port(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not minimum <= value <= 65535:
            raise argparse.ArgumentTypeError(f"must be a port from {minimum} to 65535: {text!r}")
        return value

    return port
