"""graph: loss functions — negative log-likelihood and softmax cross-entropy."""

from __future__ import annotations
