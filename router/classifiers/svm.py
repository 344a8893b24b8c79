"""A one-vs-rest linear SVM (squared hinge, L2), fitted in numpy and scipy alone.

The same model as liblinear's L2-regularised L2-loss SVC (scikit-learn's ``LinearSVC``, bias regularised
like its ``intercept_scaling=1``), solved in the primal by a finite Newton method: the squared hinge is
piecewise quadratic, so each Newton step is a linear system over the *active* rows only (those inside
their margin), solved by a few conjugate-gradient steps per class. Starting every class at score -1, only
its own examples are active at first; the active sets then grow to the confusable examples, so each step
costs little more than one product of the data with the weights. The features come in two blocks, sparse
n-grams and a dense embedding, kept apart so the dense one runs on BLAS.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

NEWTON_STEPS = 30
CG_STEPS = 10
JOINT_CG_STEPS = 6  # the steps with most rows active are early, rough ones: a coarse solve will do
JOINT_SHARE = 0.3  # above this share of active (row, class) pairs, solve every class in one pass
TOLERANCE = 1e-3  # stop when the gradient norm falls under this share of its first value


def fit_linear_svm(
    grams: sparse.csr_matrix, dense: np.ndarray, labels: np.ndarray, classes: int, c: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-vs-rest squared-hinge SVM over ``[grams, dense]`` for ``labels`` in ``range(classes)``.

    Returns:
        float32 (n-gram weights (n-grams, classes), dense weights (dense, classes), bias (classes,)).
    """
    grams = sparse.csr_matrix(grams, dtype=np.float32)
    dense = np.c_[dense, np.ones(len(labels))].astype(np.float32)  # bias: a regularised constant feature
    grams_t = grams.T.tocsr()
    n = len(labels)
    y = -np.ones((n, classes), np.float32)
    y[np.arange(n), labels] = 1.0
    wg = np.zeros((grams.shape[1], classes), np.float32)
    wd = np.zeros((dense.shape[1], classes), np.float32)
    wd[-1] = -1.0  # every score starts at -1: only each class's own examples sit inside their margin
    margins = dense @ wd
    first = None
    for _ in range(NEWTON_STEPS):
        violation = np.maximum(1.0 - y * margins, 0.0)
        residual = y * violation
        gg = wg - 2 * c * np.asarray(grams_t @ residual)
        gd = wd - 2 * c * (dense.T @ residual)
        norm = float(np.sqrt(np.sum(gg * gg) + np.sum(gd * gd)))
        first = norm if first is None else first
        if norm <= TOLERANCE * first:
            break
        active = violation > 0
        if active.mean() > JOINT_SHARE:
            dg, dd = _joint_direction(grams, grams_t, dense, active, gg, gd, c)
        else:
            dg, dd = np.zeros_like(wg), np.zeros_like(wd)
            for k in range(classes):
                rows = np.flatnonzero(active[:, k])
                dg[:, k], dd[:, k] = _newton_direction(grams[rows], dense[rows], gg[:, k], gd[:, k], c)
        change = np.asarray(grams @ dg) + dense @ dd
        step = _line_search(wg, wd, dg, dd, margins, change, y, c)
        wg += dg * step
        wd += dd * step
        margins += change * step
    return wg, wd[:-1], wd[-1].copy()


def _newton_direction(
    grams: sparse.csr_matrix, dense: np.ndarray, g_grams: np.ndarray, g_dense: np.ndarray, c: float
) -> tuple[np.ndarray, np.ndarray]:
    """Solve (I + 2c·XᵀX) d = -g over the active rows X = [grams, dense] by conjugate gradients.

    On n-grams no active row contains, the system is the identity: there d = -g exactly, and the
    conjugate gradients run only over the n-grams the active rows touch.
    """
    d_grams = -g_grams.copy()
    mark = np.zeros(len(g_grams), bool)
    mark[grams.indices] = True
    touched = np.flatnonzero(mark)
    grams = grams[:, touched]
    grams_t = grams.T.tocsr()
    split = len(touched)
    gradient = np.r_[g_grams[touched], g_dense]
    direction = np.zeros_like(gradient)
    residual = -gradient
    search = residual.copy()
    rr = float(residual @ residual)
    stop = 1e-2 * rr
    for _ in range(CG_STEPS):
        rows = grams @ search[:split] + dense @ search[split:]
        product = search + 2 * c * np.r_[grams_t @ rows, dense.T @ rows]
        alpha = rr / float(search @ product)
        direction += alpha * search
        residual -= alpha * product
        new_rr = float(residual @ residual)
        if new_rr <= stop:
            break
        search = residual + (new_rr / rr) * search
        rr = new_rr
    d_grams[touched] = direction[:split]
    return d_grams, direction[split:]


def _joint_direction(
    grams: sparse.csr_matrix,
    grams_t: sparse.csr_matrix,
    dense: np.ndarray,
    active: np.ndarray,
    g_grams: np.ndarray,
    g_dense: np.ndarray,
    c: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The Newton directions of every class at once (conjugate gradients per column, shared products).

    Used while most rows are active in most classes: the full products then cost no more than the per-class
    ones and run on BLAS (dense block) and one sparse pass (n-grams).
    """
    mask = active.astype(np.float32)
    split = g_grams.shape[0]
    residual = -np.r_[g_grams, g_dense]
    direction = np.zeros_like(residual)
    search = residual.copy()
    rr = np.einsum("ij,ij->j", residual, residual)
    stop = 1e-2 * rr
    for _ in range(JOINT_CG_STEPS):
        rows = mask * (np.asarray(grams @ search[:split]) + dense @ search[split:])
        product = search + 2 * c * np.r_[np.asarray(grams_t @ rows), dense.T @ rows]
        alpha = rr / np.maximum(np.einsum("ij,ij->j", search, product), 1e-30)
        direction += alpha * search
        residual -= alpha * product
        new_rr = np.einsum("ij,ij->j", residual, residual)
        if np.all(new_rr <= stop):
            break
        search = residual + (new_rr / np.maximum(rr, 1e-30)) * search
        rr = new_rr
    return direction[:split], direction[split:]


def _line_search(
    wg: np.ndarray,
    wd: np.ndarray,
    dg: np.ndarray,
    dd: np.ndarray,
    margins: np.ndarray,
    change: np.ndarray,
    y: np.ndarray,
    c: float,
) -> np.ndarray:
    """Per class, the step minimising the objective along the direction (Newton on a 1-D convex spline)."""
    w_dot_d = np.einsum("ij,ij->j", wg, dg) + np.einsum("ij,ij->j", wd, dd)
    d_dot_d = np.einsum("ij,ij->j", dg, dg) + np.einsum("ij,ij->j", dd, dd)
    yz = y * change
    step = np.ones(wg.shape[1], np.float32)
    for _ in range(6):
        violation = 1.0 - y * margins - yz * step
        active = violation > 0
        slope = w_dot_d + step * d_dot_d - 2 * c * np.where(active, yz * violation, 0.0).sum(axis=0)
        curvature = d_dot_d + 2 * c * np.where(active, change * change, 0.0).sum(axis=0)
        update = slope / np.maximum(curvature, 1e-12)
        step = np.maximum(step - update, 0.0)
        if np.abs(update).max() < 1e-3:
            break
    return step
