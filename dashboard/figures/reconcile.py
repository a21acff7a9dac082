"""Reconciliation: our daily estimate against Cost Explorer's actual Lambda spend.

:func:`daily` lines up, per account and UTC day, the estimate at list price
(:func:`dashboard.figures.cost_estimate.estimate`'s ``total_usd``), the free tier as its own line
(:func:`dashboard.figures.cost_estimate.free_tier_credit`), what the two explain, Cost Explorer's actual
spend, and the difference as "unexplained" with its share of the actual. :func:`month`
sums a month: how much of the bill the estimate explains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from aws.frames import typed_frame
from dashboard.figures.cost_estimate import free_tier_credit
from dashboard.figures.metrics import Unit

__all__ = ["RECONCILE_SCHEMA", "MonthReconciliation", "daily", "month"]

RECONCILE_SCHEMA: dict[str, str] = {
    "account": "string",
    "date": "datetime64[ns]",
    "estimate_usd": "float64",  # Σ functions' total_usd (list price, before the free tier)
    "free_tier_usd": "float64",  # ≤ 0: the free tier used that day
    "explained_usd": "float64",  # estimate + free tier
    "actual_usd": "float64",  # Cost Explorer (NaN: not available)
    "unexplained_usd": "float64",  # actual − explained
    "unexplained_share": "float64",  # unexplained / actual
    "actual_estimated": "boolean",  # Cost Explorer marks the day as not final
    "lower_estimate": "boolean",  # some function's cost that day is a lower estimate
}


def daily(*, estimate: pd.DataFrame, costs: pd.DataFrame | None) -> pd.DataFrame:
    """One row per account and day present in either side.

    ``costs`` is Cost Explorer's daily TOTAL (``aws.costs.SCHEMA``, ``group_by == "TOTAL"``
    rows are used); None or empty when Cost Explorer could not be read: then the actual,
    unexplained and share columns are NaN and the estimate still shows.
    """
    if estimate.empty:
        est = pd.DataFrame(
            {
                "account": pd.Series(dtype="object"),
                "date": pd.Series(dtype="datetime64[ns]"),
                "estimate_usd": pd.Series(dtype="float64"),
                "lower_estimate": pd.Series(dtype="bool"),
            }
        )
    else:
        est = (
            estimate.assign(account=estimate["account"].astype("object"), lower=estimate["lower_estimate"].astype(bool))
            .groupby(["account", "date"], as_index=False)
            .agg(estimate_usd=("total_usd", "sum"), lower_estimate=("lower", "any"))
        )
    free = free_tier_credit(estimate)
    free = pd.DataFrame(
        {"account": free["account"].astype("object"), "date": free["date"], "free_tier_usd": free["credit_usd"]}
    )
    out = est.merge(free, on=["account", "date"], how="outer")
    if costs is not None and not costs.empty:
        tot = costs[costs["group_by"] == "TOTAL"]
        act = (
            tot.assign(account=tot["account"].astype("object"), est=tot["estimated"].astype(bool))
            .groupby(["account", "date"], as_index=False)
            .agg(actual_usd=("cost_usd", "sum"), actual_estimated=("est", "any"))
        )
        out = out.merge(act, on=["account", "date"], how="outer")
    else:
        out["actual_usd"] = np.nan
        out["actual_estimated"] = pd.NA
    out["estimate_usd"] = pd.to_numeric(out["estimate_usd"]).astype("float64").fillna(0.0)
    out["free_tier_usd"] = pd.to_numeric(out["free_tier_usd"]).astype("float64").fillna(0.0)
    out["explained_usd"] = out["estimate_usd"] + out["free_tier_usd"]
    actual = pd.to_numeric(out["actual_usd"]).astype("float64")
    out["unexplained_usd"] = actual - out["explained_usd"]
    out["unexplained_share"] = (out["unexplained_usd"] / actual.where(actual != 0)).astype("float64")
    out["lower_estimate"] = out["lower_estimate"].fillna(False).astype(bool)
    out = out.sort_values(["account", "date"], ignore_index=True)
    return typed_frame(out, RECONCILE_SCHEMA)


@dataclass(frozen=True)
class MonthReconciliation:
    """A month (or any span) of :func:`daily` rows summed."""

    days: int
    estimate_usd: float
    free_tier_usd: float
    explained_usd: float
    actual_usd: float | None  # None: Cost Explorer not available
    unexplained_usd: float | None
    explained_share: float | None  # explained / actual

    def sentence(self) -> str:
        """One line for a page or the CLI (money as the registry writes it: never ``$-0.00``)."""
        usd = Unit.USD.format
        days = f"{self.days:,} day{'' if self.days == 1 else 's'}"
        if self.actual_usd is None:
            return f"Estimated {usd(self.explained_usd)} over {days} (free tier {usd(-self.free_tier_usd)}); the actual bill is not available."
        share = "" if self.explained_share is None else f"{self.explained_share:.1%} of "
        return (
            f"The estimate explains {share}the bill: {usd(self.explained_usd)} of {usd(self.actual_usd)} over "
            f"{days} (free tier {usd(-self.free_tier_usd)}, unexplained {usd(round(self.unexplained_usd, 2))})."
        )


def month(rows: pd.DataFrame) -> MonthReconciliation:
    """Sum :func:`daily` rows: estimate, free tier, explained, actual (days with an actual only)."""
    has_actual = rows["actual_usd"].notna()
    actual = float(rows.loc[has_actual, "actual_usd"].sum()) if has_actual.any() else None
    explained = float(rows["explained_usd"].sum())
    return MonthReconciliation(
        days=int(rows["date"].nunique()),
        estimate_usd=float(rows["estimate_usd"].sum()),
        free_tier_usd=float(rows["free_tier_usd"].sum()),
        explained_usd=explained,
        actual_usd=actual,
        unexplained_usd=None if actual is None else actual - explained,
        explained_share=None if not actual else explained / actual,
    )
