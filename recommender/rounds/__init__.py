"""A whole intake round: score every application with the scoring core, then allocate.

May import: recommender.scoring, recommender.allocation.solver, recommender.reports.committee,
recommender.store.database and everything below them.
"""
