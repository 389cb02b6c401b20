"""rewrites: debug channels for driver logs, MLIR's `--debug-only=greedy-rewriter` idea.

Drivers ask `channel("greedy-rewriter")` for a sink (a function taking one line) and log
nothing when it is None, so logging costs nothing unless someone listens. The CLI's
`--debug-rewrites` enables the rewrite channels, `--debug-only=a,b` chosen ones."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

REWRITE_CHANNELS = ("greedy-rewriter", "dialect-conversion", "walk-rewriter")

_ENABLED: dict[str, Callable[[str], None]] = {}


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def enable(channels: Iterable[str] = REWRITE_CHANNELS, sink: Callable[[str], None] | None = None) -> None:
    for name in channels:
        _ENABLED[name] = sink or _stderr


def disable(channels: Iterable[str] | None = None) -> None:
    for name in list(channels if channels is not None else _ENABLED):
        _ENABLED.pop(name, None)


def channel(name: str) -> Callable[[str], None] | None:
    """The sink for `name`, or None when nobody listens."""
    sink = _ENABLED.get(name)
    if sink is None:
        return None
    return lambda line: sink(f"[{name}] {line}")


@contextmanager
def debugging(channels: Iterable[str] = REWRITE_CHANNELS,
              sink: Callable[[str], None] | None = None) -> Iterator[None]:
    """`with debugging(sink=lines.append): pm.run(module)`."""
    channels = list(channels)
    saved = {name: _ENABLED.get(name) for name in channels}
    enable(channels, sink)
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                _ENABLED.pop(name, None)
            else:
                _ENABLED[name] = previous
