"""The scoring core: a plan (or a round of plans) -> candidates -> features -> ranker
scores -> Persian reasons.

May import: recommender.text, recommender.embedding.encoder, recommender.retrieval.hybrid,
recommender.ranking.ranker and the shared modules.
"""
