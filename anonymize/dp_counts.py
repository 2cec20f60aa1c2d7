"""Counts released with differential privacy, through OpenDP.

Each table of counts is one release: a person contributes to at most
``sensitivity`` of its cells in total (L1), and the discrete Laplace mechanism of
OpenDP (``make_laplace`` on integer vectors) adds noise of scale
``sensitivity / epsilon``; the privacy loss OpenDP reports for that sensitivity is
what is recorded as spent. Margins are sums of released cells (post-processing,
no budget) and negative counts are shown as 0 (post-processing too).

OpenDP's samplers cannot be seeded, by design. Tests that need a reproducible run
pass ``seed``: the same discrete Laplace distribution is then drawn from a seeded
numpy generator, and the seed is recorded; the pipeline never passes one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["noisy_counts"]


def noisy_counts(
    counts: np.ndarray, *, epsilon: float, sensitivity: int = 1, seed: int | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """The counts with discrete Laplace noise for ``epsilon`` (and what was spent)."""
    import opendp.prelude as dp

    if epsilon <= 0:
        raise ValueError("epsilon must be positive")
    if sensitivity < 1:
        raise ValueError("sensitivity must be at least 1")
    dp.enable_features("contrib")
    scale = float(sensitivity) / float(epsilon)
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
    measurement = dp.m.make_laplace(*space, scale=scale)
    spent = float(measurement.map(int(sensitivity)))
    values = [int(v) for v in np.asarray(counts, dtype=np.int64)]
    if seed is None:
        released = np.asarray(measurement(values), dtype=np.int64)
        sampler = "opendp make_laplace (discrete, on integers)"
    else:
        rng = np.random.default_rng(seed)
        p = 1.0 - np.exp(-1.0 / scale)
        noise = rng.geometric(p, len(values)) - rng.geometric(p, len(values))
        released = np.asarray(values, dtype=np.int64) + noise
        sampler = "numpy discrete Laplace with a recorded seed (tests only)"
    facts: dict[str, Any] = {
        "mechanism": "discrete Laplace",
        "library": f"opendp {dp.__version__}" if hasattr(dp, "__version__") else "opendp",
        "sampler": sampler,
        "scale": scale,
        "sensitivity_l1": int(sensitivity),
        "epsilon_spent": spent,
        "cells": len(values),
    }
    if seed is not None:
        facts["seed"] = int(seed)
    return np.clip(released, 0, None), facts
