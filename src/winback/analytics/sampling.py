"""Deterministic samples of customers for the model fits on very large bases (R14).

A customer is in the sample when their key's hash is among the ``size`` smallest: the same
customers every run, spread evenly over the key range, no random state involved.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing (Knuth, TAOCP vol. 3, 6.4)


def hash_sample(keys: NDArray[np.int64], size: int) -> NDArray[np.bool_]:
    """A boolean mask selecting at most ``size`` of ``keys``."""
    mask = np.ones(keys.size, dtype=bool)
    if keys.size <= size:
        return mask
    hashed = keys.astype(np.uint64) * _GOLDEN
    chosen = np.argsort(hashed, kind="stable")[:size]
    mask[:] = False
    mask[chosen] = True
    return mask


def hash_fold(keys: NDArray[np.int64], folds: int) -> NDArray[np.bool_]:
    """True for the customers in one of ``folds`` equal folds (the held-out part)."""
    hashed = keys.astype(np.uint64) * _GOLDEN
    fold: NDArray[np.bool_] = (hashed >> np.uint64(40)) % np.uint64(folds) == 0
    return fold
