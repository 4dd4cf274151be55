"""How this post summarises repeated runs, and the one rule by which it calls a difference real."""

import numpy as np


def mean_sd(runs, digits=3):
    """'0.912 ± 0.013': the mean of several runs and their sample standard deviation."""
    runs = np.asarray(runs, dtype=float)
    return f"{runs.mean():.{digits}f} ± {runs.std(ddof=1):.{digits}f}"


def verdict(a, b, lower_is_better=False):
    """How runs `a` compare with runs `b`: "better than", "worse than" or "within the spread of".

    A difference counts only when the two means differ by more than the two standard
    deviations added together. With three runs this is a coarse screen, not a significance
    test: "within the spread of" means this experiment cannot tell the two apart.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    gap = a.mean() - b.mean()
    if lower_is_better:
        gap = -gap
    if abs(gap) <= a.std(ddof=1) + b.std(ddof=1):
        return "within the spread of"
    return "better than" if gap > 0 else "worse than"
