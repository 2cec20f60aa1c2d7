"""The match threshold estimated from the scores alone: no truth needed.

Candidate-pair Dice scores are a mixture of matches (near 1) and non-matches (lower; after
blocking often in two or more humps — pairs that share a birth date, pairs from one
street). A beta mixture of two to four components is fitted by EM on a histogram of the
scores (Fellegi–Sunter in spirit: the shares and score distributions are learnt from the
data) and the number of components chosen by BIC. Components whose mean lies nearer the
highest mean than the lowest, or centred above ``match_floor`` (records that do not match
rarely share that much of their bits; this keeps a file in which nearly every candidate
is a match from being split into "good" and "typo'd" matches), are the *match*
components; each score's posterior match probability follows. The threshold is the one
that maximises the *expected* F1 under the fitted mixture, and the expected precision and
recall at it are reported. A user may always pass a threshold of their own instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln

__all__ = ["ThresholdEstimate", "estimate_threshold"]

_EPS = 1e-4
#: no component narrower than this (a spike on one bin would win any likelihood contest)
_MIN_VAR = 1e-4


@dataclass(frozen=True)
class ThresholdEstimate:
    threshold: float
    precision: float  # expected, among candidate pairs at or above the threshold
    recall: float  # expected, of the matches among the candidate pairs
    match_share: float  # fitted share of matches among the candidate pairs
    components: int  # beta components fitted (chosen by BIC)
    converged: bool


def _moments(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    total = max(float(w.sum()), 1e-12)
    mean = min(max(float((w * x).sum() / total), _EPS), 1 - _EPS)
    var = float((w * (x - mean) ** 2).sum() / total)
    var = min(max(var, _MIN_VAR), mean * (1 - mean) * 0.99)
    common = mean * (1 - mean) / var - 1
    return max(mean * common, 0.05), max((1 - mean) * common, 0.05)


def _fit(
    x: np.ndarray, w: np.ndarray, k: int, max_iter: int, tol: float
) -> tuple[np.ndarray, list[tuple[float, float]], float, bool]:
    """EM for a k-component beta mixture; (responsibilities, params, log-likelihood, converged)."""
    cum = np.cumsum(w) / w.sum()
    start = np.minimum((cum * k).astype(int), k - 1)  # equal-mass slices to begin with
    resp = np.eye(k)[start] * 0.8 + 0.2 / k
    log_x, log_1x = np.log(x), np.log1p(-x)
    prev, loglik, converged = -np.inf, -np.inf, False
    params: list[tuple[float, float]] = []
    for _ in range(max_iter):
        shares = (w[:, None] * resp).sum(axis=0) / w.sum()
        params = [_moments(x, w * resp[:, c]) for c in range(k)]
        dens = np.stack(
            [
                shares[c] * np.exp((a - 1) * log_x + (b - 1) * log_1x - betaln(a, b))
                for c, (a, b) in enumerate(params)
            ],
            axis=1,
        )
        total = dens.sum(axis=1) + 1e-300
        resp = dens / total[:, None]
        loglik = float((w * np.log(total)).sum())
        if abs(loglik - prev) < tol * abs(loglik):
            converged = True
            break
        prev = loglik
    return resp, params, loglik, converged


def estimate_threshold(
    scores: np.ndarray,
    *,
    bins: int = 400,
    components: tuple[int, ...] = (2, 3, 4),
    max_iter: int = 500,
    tol: float = 1e-8,
    match_floor: float = 0.8,
    beta: float = 1.0,
) -> ThresholdEstimate:
    """Fit the mixture to ``scores`` (Dice in [0, 1]) and pick the threshold of the best
    expected F-beta (``beta`` < 1 weighs precision more: F1 at the default)."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) < 2:
        raise ValueError("need at least two scores to estimate a threshold")
    counts, edges = np.histogram(np.clip(scores, 0, 1), bins=bins, range=(0.0, 1.0))
    centre = np.clip((edges[:-1] + edges[1:]) / 2, _EPS, 1 - _EPS)
    present = counts > 0
    x, w, lower = centre[present], counts[present].astype(np.float64), edges[:-1][present]
    if len(x) < 2:
        raise ValueError("the scores fall in one histogram bin: no mixture to fit")
    fits = []
    for k in components:
        if k > len(x):
            continue
        resp, params, loglik, converged = _fit(x, w, k, max_iter, tol)
        means = np.array([a / (a + b) for a, b in params])
        top, low = means.max(), means.min()
        is_match = ((top - means) < (means - low)) | (means >= match_floor) | (means == top)
        bic = (3 * k - 1) * np.log(w.sum()) - 2 * loglik
        # a fit that separates nothing (every component a match) or did not converge is
        # taken only when no other is at hand (a file in which every candidate matches)
        doubtful = bool(is_match.all()) or not converged
        fits.append((doubtful, bic, k, resp, is_match, converged))
    if not fits:
        raise ValueError(f"too few distinct scores for {min(components)} components")
    _, _, k, resp, is_match, converged = min(fits, key=lambda f: (f[0], f[1]))
    match_w = w * resp[:, is_match].sum(axis=1)
    tp = np.cumsum(match_w[::-1])[::-1]  # matches at or above each bin
    taken = np.cumsum(w[::-1])[::-1]
    fp = taken - tp
    fn = match_w.sum() - tp
    b2 = beta * beta
    fbeta = (1 + b2) * tp / np.maximum((1 + b2) * tp + b2 * fn + fp, 1e-12)
    pick = int(np.argmax(fbeta))
    return ThresholdEstimate(
        threshold=max(float(lower[pick]), 1.0 / bins),
        precision=float(tp[pick] / max(taken[pick], 1e-12)),
        recall=float(tp[pick] / max(match_w.sum(), 1e-12)),
        match_share=float(match_w.sum() / w.sum()),
        components=k,
        converged=converged,
    )
