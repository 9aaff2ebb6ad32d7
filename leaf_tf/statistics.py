"""Statistics over training seeds: spread of a configuration, paired differences between two.

A frontend comparison has two sources of noise: the training run (seed,
data order, and the rounding of the machine it ran on, which over hundreds
of steps changes the network as much as a new seed does) and the finite test
set. `seed_spread` describes the first; `paired_bootstrap` puts an interval
on a difference of accuracies that accounts for both.

Paired bootstrap over seeds and test clips
------------------------------------------
Arms A and B are trained with the same seeds `s = 1..n` (same data order,
same initial state of everything they share) and evaluated on the same test
clips `c = 1..m_t` of each task `t`. With `D_t[s, c] = correct_A - correct_B`
(each in {0, 1}) the estimate of the accuracy difference on task `t` is
`mean_{s,c} D_t[s, c]`, and on the average of the tasks the mean of those.

Seeds and clips are crossed random factors, so both are resampled: one
bootstrap replicate draws `n` seeds with replacement (the same draw for all
tasks: a seed is one training run of all of them) and, for each task, `m_t`
clips with replacement, and recomputes the differences. The interval is the
percentile interval of `resamples` replicates. Resampling both factors
counts their interaction twice and so errs on the wide side (Owen, "The
pigeonhole bootstrap", 2007); with few seeds the seed component is
underestimated by a factor `(n - 1) / n`. Pairing removes what the two arms
share: clips that are hard for both, seeds whose data order suits both.
The generator is seeded, so a report is the same every time it is made.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_RESAMPLES = 10000
BOOTSTRAP_SEED = 20210121  # fixed: the same runs always give the same intervals


def seed_spread(values) -> tuple[float, float]:
    """`(mean, sample standard deviation)` of per-seed values (standard deviation NaN for one seed)."""
    values = np.asarray(values, np.float64)
    if values.size == 0:
        raise ValueError("seed_spread needs at least one value.")
    sd = float(values.std(ddof=1)) if values.size > 1 else math.nan
    return float(values.mean()), sd


def paired_bootstrap(
    correct_a: dict[str, np.ndarray],
    correct_b: dict[str, np.ndarray],
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    chunk: int = 500,
) -> dict:
    """Accuracy differences A - B per task and on the tasks' average, with paired bootstrap intervals.

    Args:
      correct_a, correct_b: `{task: [seeds, clips]}` 0/1 (or boolean) arrays;
        row `s` of both comes from the same seed, column `c` from the same
        clip. Both need the same tasks and shapes; at least one seed.
      confidence: coverage of the percentile intervals.
      resamples: bootstrap replicates.
      seed: seed of the bootstrap's random generator.
      chunk: replicates drawn at a time (bounds memory for large test sets).

    Returns:
      `{"tasks": {task: {"difference", "low", "high", "significant"}},
      "average": {...}, "seeds": n, "clips": {task: m_t}}`, differences as
      fractions (0.021 = 2.1 points); `significant` when the interval
      excludes 0.
    """
    if set(correct_a) != set(correct_b) or not correct_a:
        raise ValueError(f"Both arms need the same, non-empty set of tasks; got {sorted(correct_a)} and {sorted(correct_b)}.")
    tasks = sorted(correct_a)
    differences = {}
    for task in tasks:
        a, b = np.asarray(correct_a[task], np.float64), np.asarray(correct_b[task], np.float64)
        if a.shape != b.shape or a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
            raise ValueError(f"Task {task!r}: expected two [seeds, clips] arrays of one shape, got {a.shape} and {b.shape}.")
        differences[task] = a - b
    seeds = {d.shape[0] for d in differences.values()}
    if len(seeds) != 1:
        raise ValueError(f"Every task needs the same seeds; got {sorted(seeds)} seeds across tasks.")
    n = seeds.pop()

    rng = np.random.default_rng(seed)
    replicates = {task: [] for task in tasks}
    remaining = resamples
    while remaining > 0:
        size = min(chunk, remaining)
        remaining -= size
        seed_counts = rng.multinomial(n, np.full(n, 1.0 / n), size=size)  # [size, n]
        for task in tasks:
            d = differences[task]
            m = d.shape[1]
            clip_counts = rng.multinomial(m, np.full(m, 1.0 / m), size=size)  # [size, m]
            per_seed = clip_counts @ d.T / m  # [size, n]: each seed's difference on the resampled clips
            replicates[task].append(np.sum(seed_counts * per_seed, axis=1) / n)
    replicates = {task: np.concatenate(values) for task, values in replicates.items()}
    tail = 100 * (1 - confidence) / 2

    def interval(estimate, samples):
        low, high = np.percentile(samples, [tail, 100 - tail])
        return {"difference": float(estimate), "low": float(low), "high": float(high),
                "significant": bool(low > 0 or high < 0)}

    result = {task: interval(differences[task].mean(), replicates[task]) for task in tasks}
    average = interval(np.mean([differences[t].mean() for t in tasks]), np.mean([replicates[t] for t in tasks], axis=0))
    return {"tasks": result, "average": average, "seeds": n, "clips": {t: differences[t].shape[1] for t in tasks},
            "confidence": confidence, "resamples": resamples}
