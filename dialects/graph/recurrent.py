"""graph: recurrent ops — RNN, GRU, LSTM."""

from __future__ import annotations
