"""A whole intake round: score every application with the scoring core, then allocate.

Owns: `scoring` (`score_round`, `ScoringModel`, `TextPreparer`: batches through
`scoring.core.ScoringCore`), `stored` (the round's inputs, score rows and runs in the store),
`problem` (the allocation problem, the saved allocation), `staff_files` (pins, vetoes,
province minimums, what-if text) and `run` (`run_round`: score, allocate, write the committee
files).

May import: recommender.scoring, recommender.allocation, recommender.reports,
recommender.store, recommender.ranking, recommender.retrieval (the BM25 index a round scores
with), recommender.text and the shared modules (errors, constants, schemas). Nothing below
may import rounds (reports, allocation, scoring and store never do).
"""
