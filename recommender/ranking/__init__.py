"""Ranking: from an (application, program) pair to a fit score.

Owns the feature table and its computation (`features`: `FEATURES`, `FeatureBuilder`, the hard
`eligibility` rules; `pair_columns`: the numpy columns of each feature group), the learned
rankers (`ranker`: `FitRanker`, `ScoreWeights`, the saved-model folder format; `_forest`: the
compiled evaluation of their boosted trees) and the rule-based scores (`compose`:
`unsupervised_score`, the fallback before any model is trained, and `compose_scores`, the shown
fit score). Takes plain arrays, schemas and embeddings; reads no store, settings or files other
than a ranker folder it is asked to load.

May import: recommender.schemas, recommender.errors, recommender.constants (no other stage:
retrieval, scoring, rounds and training build on this package, never the other way).
"""
