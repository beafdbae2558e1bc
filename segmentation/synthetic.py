"""Realistic synthetic customers: the data ``segment run`` uses when the user gives none.

The customers are drawn from five latent groups that resemble what a shopping-mall loyalty
programme sees (the same shape as the well-known mall customers data), with enough spread
that the groups overlap a little, as real ones do:

========================  =====  ======  ========  ========  ======
group                     share  age     income    spending  tenure
========================  =====  ======  ========  ========  ======
young trend-setters       0.14   ~25     ~26 k$    ~79       ~14 m
careful older savers      0.14   ~52     ~27 k$    ~20       ~66 m
average mainstream        0.38   ~42     ~55 k$    ~50       ~36 m
affluent big spenders     0.17   ~32     ~87 k$    ~82       ~50 m
affluent careful          0.17   ~44     ~88 k$    ~17       ~84 m
========================  =====  ======  ========  ========  ======

Everything comes from one ``numpy.random.Generator`` seeded by ``seed``, so the same seed
gives the same table on every machine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["make_customers", "LATENT_GROUPS"]

# name, share, (age mean, sd), (income mean, sd), (spending mean, sd), (tenure mean, sd),
# share of women. Income in thousands of dollars a year, tenure in months.
LATENT_GROUPS = (
    ("young trend-setters", 0.14, (25, 4), (26, 7), (79, 9), (14, 8), 0.58),
    ("careful older savers", 0.14, (52, 8), (27, 7), (20, 11), (66, 20), 0.55),
    ("average mainstream", 0.38, (42, 9), (55, 8), (50, 7), (36, 14), 0.57),
    ("affluent big spenders", 0.17, (32, 4), (87, 12), (82, 9), (50, 16), 0.54),
    ("affluent careful", 0.17, (44, 8), (88, 13), (17, 10), (84, 22), 0.46),
)

AGE_RANGE = (18, 70)
INCOME_RANGE = (15, 140)
SPENDING_RANGE = (1, 100)
TENURE_RANGE = (1, 120)


def make_customers(n: int = 400, seed: int | None = 0) -> pd.DataFrame:
    """Draw ``n`` synthetic customers.

    Parameters
    ----------
    n : int, default 400
        Number of customers, at least 1.
    seed : int or None, default 0
        Seed of the random generator; the same seed gives the same table.

    Returns
    -------
    pandas.DataFrame of shape (n, 6)
        Columns ``CustomerID`` (text, ``"C00001"`` ...), ``Gender`` (``"Female"``/``"Male"``),
        ``Age`` (int, 18-70), ``Annual Income (k$)`` (int, 15-140),
        ``Spending Score (1-100)`` (int, 1-100) and ``Tenure (months)`` (int, 1-120).
        Rows are in random order (the latent group is not a column and not the row order).
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")
    rng = np.random.default_rng(seed)
    shares = np.array([group[1] for group in LATENT_GROUPS])
    groups = rng.choice(len(LATENT_GROUPS), size=n, p=shares / shares.sum())

    def draw(column: int, bounds: tuple[int, int]) -> np.ndarray:
        means = np.array([group[column][0] for group in LATENT_GROUPS], dtype=float)[groups]
        sds = np.array([group[column][1] for group in LATENT_GROUPS], dtype=float)[groups]
        values = rng.normal(means, sds)
        return np.clip(np.rint(values), *bounds).astype(np.int64)

    age = draw(2, AGE_RANGE)
    income = draw(3, INCOME_RANGE)
    spending = draw(4, SPENDING_RANGE)
    # Tenure is skewed in real loyalty data (many recent members, a long tail of old ones):
    # a gamma draw with the group's mean and spread gives that shape.
    tenure_mean = np.array([group[5][0] for group in LATENT_GROUPS], dtype=float)[groups]
    tenure_sd = np.array([group[5][1] for group in LATENT_GROUPS], dtype=float)[groups]
    shape = (tenure_mean / tenure_sd) ** 2
    tenure = rng.gamma(shape, tenure_mean / shape)
    # Nobody has been a member for longer than they have been an adult.
    tenure = np.minimum(tenure, (age - AGE_RANGE[0]) * 12 + 6)
    tenure = np.clip(np.rint(tenure), *TENURE_RANGE).astype(np.int64)
    female_share = np.array([group[6] for group in LATENT_GROUPS])[groups]
    gender = np.where(rng.random(n) < female_share, "Female", "Male")

    width = max(5, len(str(n)))
    return pd.DataFrame(
        {
            "CustomerID": pd.array([f"C{i:0{width}d}" for i in range(1, n + 1)], dtype="str"),
            "Gender": pd.array(gender, dtype="str"),
            "Age": age,
            "Annual Income (k$)": income,
            "Spending Score (1-100)": spending,
            "Tenure (months)": tenure,
        }
    )
