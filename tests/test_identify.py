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


def test_sized_threshold_rows_use_the_galleries_threshold():
    from benchmarks.identify import _by_size
    from training.error_rates import ScoreHistograms, gallery_threshold

    # impostors: 1 % at or above 0.6, none at or above 0.8: a gallery of 10 needs about 0.8
    rates = ScoreHistograms.from_scores(genuine=[0.9] * 10, impostor=[0.1] * 990 + [0.7] * 10)
    assert gallery_threshold(rates, 0.6, 1) == 0.6 and gallery_threshold(None, 0.6, 10) == 0.6
    assert gallery_threshold(rates, 0.6, 10) == pytest.approx(0.701)  # the first bin above every 0.7 impostor
    scores = np.full((3, 3), 0.65)  # every stranger between the two thresholds
    np.fill_diagonal(scores, 0.9)
    picks = {2: np.array([[1], [2], [0]])}
    row = _by_size(scores, picks, 0.6, rates)[2]
    assert row["sized_threshold"] == pytest.approx(0.701)  # half of the 1 %: above every 0.7 impostor
    assert row["open_set_false_match"] == 1.0  # at 0.6 every lone stranger is a MATCH...
    assert row["open_set_false_match_sized"] == 0.0  # ...and at the gallery's threshold none is
    assert row["match_right"] == 0.0 and row["match_right_sized"] == 1.0  # the own identity alone above it


def test_matcher_checks_mix_conditions_as_the_stored_pairs_do():
    from benchmarks.matcher_checks import mixed_rates

    labels = np.array([0, 0, 1, 1])
    clean = (labels, np.array([0.1, 0.9, 0.9, 0.9]))  # FAR 1/2 at 0.5, FRR 0
    blurred = (labels, np.array([0.1, 0.1, 0.1, 0.9]))  # FAR 0, FRR 1/2
    alone = mixed_rates({"none": clean}, [0.5], clean_share=0.2)[0.5]
    assert alone["far"][0] == 0.5 and alone["frr"][0] == 0.0  # one condition: its own rates, unweighted
    mixed = mixed_rates({"none": clean, "blurred": blurred}, [0.5], clean_share=0.2)[0.5]
    assert mixed["far"][0] == pytest.approx(0.2 * 0.5) and mixed["frr"][0] == pytest.approx(0.8 * 0.5)


@pytest.mark.parametrize("size, within", [(2, 1), (3, 1), (4, 1), (3, 2), (5, 2), (6, 1)])
def test_expected_rank_share_is_the_mean_over_every_draw_of_strangers(size, within):
    from itertools import combinations

    from benchmarks.identify import expected_rank_share

    rng = np.random.default_rng(3)
    scores = rng.integers(0, 4, size=(6, 6)).astype(float)  # integer scores: ties with the own score included
    own = scores.diagonal().copy()
    shares = [np.mean([(scores[i, list(draw)] > own[i]).sum() < within
                       for draw in combinations([j for j in range(6) if j != i], size - 1)]) for i in range(6)]
    assert 0 < np.mean(shares) < 1  # not a case every draw agrees on
    assert expected_rank_share(own, scores, size, within) == pytest.approx(np.mean(shares))
