"""The 1:N benchmark's arithmetic (benchmarks/identify.py), on hand-made scores."""

import numpy as np
import pytest

from benchmarks.identify import open_set_false_match, rank_metrics


def test_rank_metrics_count_ranks_and_the_gallery_tabs_match_rule():
    own = np.array([0.9, 0.6, 0.3])
    strangers = np.array([[0.1, 0.2],    # own first, alone above 0.5: a right MATCH
                          [0.7, 0.1],    # a stranger first; two above: no MATCH
                          [0.6, 0.2]])   # a stranger first and alone above: a wrong MATCH
    m = rank_metrics(own, strangers, threshold=0.5)
    assert m["gallery"] == 3
    assert m["rank1"] == pytest.approx(1 / 3) and m["rank5"] == 1.0
    assert m["match_right"] == pytest.approx(1 / 3) and m["match_wrong"] == pytest.approx(1 / 3)
    assert m["strangers_above_mean"] == pytest.approx(2 / 3)
    assert open_set_false_match(strangers, threshold=0.5) == pytest.approx(2 / 3)  # exactly one above: rows 2, 3
    assert rank_metrics(own, strangers, threshold=0.95)["match_right"] == 0.0
