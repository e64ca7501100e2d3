"""Inglehart-Welzel (IW) values of the candidate responses and of the responses people chose.

The Inglehart-Welzel map places values on two axes from the World Values Survey: traditional
vs secular-rational, and survival vs self-expression. Its four poles are :data:`POLES`. The
paper behind the dataset reports that the responses of 21 leading LLMs all sit at the
secular-rational and self-expression poles (:data:`LLM_DEFAULT_POLES`), while people's
preferences vary far more, and that negatively-correlated sampling raised the share of
candidate sets holding a traditional response from 15% to 60% and a survival response from 30%
to 53%.

The released corpus carries no IW labels: a labelling of the candidate responses comes from
outside (the paper used a judge model), keyed by :func:`community_alignment.hashing.response_key`
so that it survives rebuilds of the release.

* :func:`load_labels` reads and checks a labelling (CSV, Parquet or a polars DataFrame with
  ``response_key``, ``pole`` and/or the two scores ``traditional_secular`` and
  ``survival_self_expression`` in [-1, 1], positive = secular-rational / self-expression, and
  ``labeller``); :meth:`Labels.coverage_of` says how much of a corpus it labels.
* :func:`label_responses` labels a corpus with any :class:`Labeller` (a callable from texts to
  label dicts), in batches, through an on-disk JSONL cache per labeller name.
* :func:`summarize` gives, per group (country, language, a demographic field, or overall), with
  bootstrap intervals that resample units (``item_id``): the pole coverage of candidate sets
  (the paper's measure), the share of choices that went to each pole, the mean position of the
  chosen responses against the mean of the candidates shown, and the gap to the LLM-default
  poles.
* Without labels: :func:`country_positions` is the shipped table of reference positions
  (``community_alignment/data/iw_countries.csv``: Integrated Values Surveys factor scores for
  the five release countries and the reference points Sweden and Japan), and
  :func:`distance_vs_disagreement` sets the IW distance between every two release countries
  beside how much their annotators disagree on the same units.
* :func:`plot_map` draws the map (PNG); :func:`register_cli` adds ``community-alignment iw``.

An annotator's repeated picks on the same unit count once, by the library's one rule for
repeated picks (:func:`community_alignment.inputs.first_picks`). An interval resampled from
fewer than two units is n/a, with the reason (:func:`community_alignment.bootstrap.unit_interval`).

A response has one pole: the labelling's ``pole``, or when it gives only scores, the pole of the
axis with the larger absolute score (:func:`pole_of_scores`; none on a tie, e.g. at 0, 0).

The package's rooms: :mod:`~community_alignment.iw.poles` (poles, axes and a response's pole),
:mod:`~community_alignment.iw.labels` (reading and checking labels),
:mod:`~community_alignment.iw.labelling` (labelling a corpus through a cache),
:mod:`~community_alignment.iw.summary` (the summaries), :mod:`~community_alignment.iw.distance`
(distance against disagreement), :mod:`~community_alignment.iw.map` (reference positions and
the drawing) and :mod:`~community_alignment.iw.cli` (the ``iw`` command).

>>> pole_of_scores(-0.6, 0.2)
'traditional'
>>> sorted(country_positions()["iso2"].to_list())
['br', 'fr', 'in', 'it', 'jp', 'se', 'us']
"""

from __future__ import annotations

from community_alignment.iw.cli import register_cli
from community_alignment.iw.distance import DistanceDisagreement, distance_vs_disagreement
from community_alignment.iw.labelling import Labeller, label_responses
from community_alignment.iw.labels import LABEL_COLUMNS, REQUIRED_LABEL_COLUMNS, Labels, load_labels
from community_alignment.iw.map import COUNTRIES_FILE, country_positions, map_scale, plot_map
from community_alignment.iw.poles import (
    AXES,
    AXIS_POLES,
    CHOICE,
    COUNTRY,
    ITEM,
    LLM_DEFAULT_CORNER,
    LLM_DEFAULT_POLES,
    NON_DEFAULT_POLES,
    POLE_COLUMNS,
    POLES,
    RESPONSES,
    pole_of_scores,
)
from community_alignment.iw.summary import TABLES, IWSummary, summarize

__all__ = [
    "AXES",
    "AXIS_POLES",
    "CHOICE",
    "COUNTRIES_FILE",
    "COUNTRY",
    "ITEM",
    "LABEL_COLUMNS",
    "LLM_DEFAULT_CORNER",
    "LLM_DEFAULT_POLES",
    "NON_DEFAULT_POLES",
    "POLES",
    "POLE_COLUMNS",
    "REQUIRED_LABEL_COLUMNS",
    "RESPONSES",
    "TABLES",
    "DistanceDisagreement",
    "IWSummary",
    "Labeller",
    "Labels",
    "country_positions",
    "distance_vs_disagreement",
    "label_responses",
    "load_labels",
    "map_scale",
    "plot_map",
    "pole_of_scores",
    "register_cli",
    "summarize",
]
