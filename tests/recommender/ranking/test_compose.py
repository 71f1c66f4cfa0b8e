"""Free text: text fit first, the plan's stated facts second, program priors last."""

from __future__ import annotations

import numpy as np

from recommender.ranking.compose import compose_scores, text_fit
from recommender.ranking.features import FEATURE_NAMES
from tests.recommender._pipeline_fakes import PLAN_FINTECH
from tests.recommender.scoring.test_pipeline import _recommender


def _rows(sem_z: list[float], lex: list[float]) -> np.ndarray:
    X = np.zeros((len(sem_z), len(FEATURE_NAMES)))
    X[:, FEATURE_NAMES.index("sem_pooled_z")] = sem_z
    X[:, FEATURE_NAMES.index("lex_bm25_norm")] = lex
    return X


def test_a_strong_prior_cannot_lift_a_program_the_plan_is_not_about() -> None:
    # program 0: what the plan is about; program 1: a hub with a high prior
    X = _rows([2.0, -0.2], [1.0, 0.2])
    scores = compose_scores(X, FEATURE_NAMES, prior=np.array([0.05, 1.0]))
    assert scores[0] > scores[1]


def test_priors_break_near_ties() -> None:
    X = _rows([1.0, 1.02], [0.8, 0.8])
    scores = compose_scores(X, FEATURE_NAMES, prior=np.array([0.6, 0.1]))
    assert scores[0] > scores[1]


def test_a_stated_fact_lowers_programs_that_do_not_suit_it_by_its_confidence() -> None:
    X = _rows([1.0, 1.0], [0.9, 0.9])
    stage_fit = np.array([1.0, 0.0])
    sure = compose_scores(X, FEATURE_NAMES, np.zeros(2), {"stage": (stage_fit, 0.9)})
    unsure = compose_scores(X, FEATURE_NAMES, np.zeros(2), {"stage": (stage_fit, 0.2)})
    assert sure[0] > sure[1] and unsure[0] > unsure[1]
    assert sure[0] - sure[1] > unsure[0] - unsure[1]
    assert np.allclose(sure[0], text_fit(X, FEATURE_NAMES)[0])


def test_free_text_reads_its_facts_and_uses_them() -> None:
    rec = _recommender(top=10)
    out = rec.recommend(text=PLAN_FINTECH)
    assert out.facts is not None and out.facts["province"]["value"] == "اصفهان"
    assert out.to_dict()["facts"] == out.facts
    # the plan is an MVP in Isfahan: the Isfahan fintech centre (idea/mvp) comes before the
    # Tehran accelerator, which needs a desk in Tehran and is not remote
    ids = [i.program_id for i in out.items]
    assert ids.index("fin-isf") < ids.index("fin-teh")


def test_corrected_facts_change_the_ranking() -> None:
    rec = _recommender(top=10)
    moved = rec.recommend(
        text=PLAN_FINTECH, facts={"province": "تهران", "city": "تهران", "stage": "early_revenue"}
    )
    assert moved.facts["province"] == {"value": "تهران", "confidence": 1.0}
    ids = [i.program_id for i in moved.items]
    assert ids.index("fin-teh") < ids.index("fin-isf")


def test_a_stored_application_keeps_the_rankers_score() -> None:
    rec = _recommender(top=3)
    from tests.recommender._pipeline_fakes import make_application

    out = rec.recommend(application=make_application())
    assert out.facts is None
