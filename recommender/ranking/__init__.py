"""Ranking: from an (application, program) pair to a fit score.

Owns the feature table and its computation (`features`: `FEATURES`, `FeatureBuilder`;
`pair_columns`: the numpy columns of each feature group), the learned rankers (`ranker`:
`FitRanker`, `ScoreWeights`, the saved-model folder format; `_forest`: the compiled
evaluation of their boosted trees), their registry of versions, one of them live
(`registry`: `ModelRegistry` on `recommender.artifacts.VersionedDir`, read by the service
and written by `training/`), and the rule-based scores (`compose`: `unsupervised_score`, the
fallback before any model is trained, and `compose_scores`, the shown fit score of free
text). The hard eligibility rules it uses live in `recommender.eligibility`. Takes plain
arrays, schemas and embeddings; reads no store or settings.

May import: recommender.eligibility, recommender.estimator, recommender.artifacts,
recommender.schemas, recommender.errors, recommender.constants (no other stage: retrieval,
scoring, rounds and training build on this package, never the other way).
"""
