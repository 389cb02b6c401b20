"""graph: detection and vision ops — RoI align, non-max suppression, affine grids, col2im, max-unpool."""

from __future__ import annotations
