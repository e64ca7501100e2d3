"""Evaluate a model against each community: whose preferences do its answers represent?

:func:`evaluate` measures a model's predictions (per unit, weights on the four candidates, a
single choice, or reward scores) against the picks of each group of a release: pick agreement
beside chance and the group's own leave-one-out majority agreement, distributional similarity
(1 - Jensen-Shannon distance) beside a uniform model and the other groups' picks, the gap
between the best and the worst represented group, reward-model accuracy on ``pairs``, and,
for predictions made as a member of a ``target`` group, whether that moved the model toward
the group. :mod:`community_alignment.evaluate.chat` makes a chat model the predictor. The
``community-alignment evaluate`` command prints the same.
"""

from __future__ import annotations

from community_alignment.evaluate.command import plot, register_cli
from community_alignment.evaluate.evaluation import Evaluation, evaluate
from community_alignment.evaluate.measures import js_distance
from community_alignment.evaluate.predictions import Predictions, read_predictions, softmax

__all__ = [
    "Evaluation",
    "Predictions",
    "evaluate",
    "js_distance",
    "plot",
    "read_predictions",
    "register_cli",
    "softmax",
]
