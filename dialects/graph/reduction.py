"""graph: reduction ops."""

from __future__ import annotations

