"""Inter-annotator agreement on the ``comparisons`` table of a Community Alignment release.

A *unit* is one ``item_id``: the same context, prompt and four candidates in the same order.
Each comparison is one *pick* on a unit, a nominal value in the choice vocabulary
(``a``..``d``, stored as the ClassLabel integers 0..3). Units differ in how many picks they
have; units with fewer than two picks carry no agreement information and are left out of
every agreement statistic (they still count in ``picks`` and in the position-bias shares).

Statistics (per group, or overall):

* Krippendorff's alpha, nominal, computed from the coincidence matrix over units with at least
  two picks (the same number as ``krippendorff.alpha(value_counts=M,
  level_of_measurement="nominal")``). When it is undefined (no unit with two picks, or every
  paired pick is the same choice so the expected disagreement is 0) it is NaN and
  ``alpha_undefined_reason`` says why.
* Pairwise agreement: the share of pairs of distinct picks on the same unit that agree,
  pooled over all pairs of all units (MT-bench) and averaged over units, with two chance
  baselines: 0.25 (uniform) and ``sum p_c**2`` (``p_c`` the choice shares of the paired picks).
* Leave-one-out majority agreement (AlpacaEval): whether a pick equals the plurality of the
  other picks on its unit, a tie among ``k`` values counting ``1/k``.
* Choice entropy per unit (bits; at most 2 with four candidates): median and mean.
* Position bias: the share of each choice among all picks, singletons included.
* Bootstrap percentile intervals that resample units (not picks), vectorised
  (:mod:`community_alignment.bootstrap`).

One annotator, one pick per unit: an annotator's repeated picks on the same unit count once,
by the library's one rule for repeated picks (:func:`community_alignment.inputs.first_picks`).

The package's rooms: :mod:`~community_alignment.agreement.measures` (the measures on a count
matrix), :mod:`~community_alignment.agreement.picks` (reading a comparisons table),
:mod:`~community_alignment.agreement.summary` (:func:`agreement`, by group),
:mod:`~community_alignment.agreement.cross` (:func:`cross_agreement`, across groups) and
:mod:`~community_alignment.agreement.cli` (the ``agreement`` command).

>>> import polars as pl
>>> frame = pl.DataFrame({
...     "item_id": ["x", "x", "x", "y", "y", "z"],
...     "annotator_id": ["1", "2", "3", "1", "2", "3"],
...     "choice": ["a", "a", "b", "c", "c", "d"],
... })
>>> row = agreement(frame).row(0, named=True)
>>> row["picks"], row["units"], row["pairs"]   # z is a singleton unit
(6, 2, 4)
>>> row["pairwise_pooled"]   # x: 1 agreeing pair of 3, y: 1 of 1
0.5
"""

from __future__ import annotations

from community_alignment.agreement.cli import register_cli
from community_alignment.agreement.cross import cross_agreement
from community_alignment.agreement.measures import (
    REASON_NO_PAIRS,
    REASON_ONE_CATEGORY,
    Pairwise,
    entropy_bits,
    krippendorff_alpha_nominal,
    loo_majority,
    pairwise_agreement,
)
from community_alignment.agreement.picks import (
    ANNOTATOR,
    BALANCED_10,
    CHOICE,
    COMPARISON,
    ITEM,
    PREGENERATED,
    TURN,
    unit_counts,
)
from community_alignment.agreement.summary import agreement

__all__ = [
    "ANNOTATOR",
    "BALANCED_10",
    "CHOICE",
    "COMPARISON",
    "ITEM",
    "PREGENERATED",
    "REASON_NO_PAIRS",
    "REASON_ONE_CATEGORY",
    "TURN",
    "Pairwise",
    "agreement",
    "cross_agreement",
    "entropy_bits",
    "krippendorff_alpha_nominal",
    "loo_majority",
    "pairwise_agreement",
    "register_cli",
    "unit_counts",
]
