"""The scoring core and the single-request facade.

Owns: `core` (the one scorer of (plan, program) pairs: features -> trained ranker or the
unsupervised fallback -> fit score, P(residency), P(funding), expected funding, eligibility;
used by `pipeline.Recommender` for one plan and by `rounds.scoring.score_round` for a batch),
`pipeline` (the `Recommender` and the result types it returns), `index` (the text programs are
embedded from, building the retriever, the BM25 memo), `free_text` (facts of a free-text plan),
`memo` (per-plan memo of the core's outputs), `explain` (Persian reasons, contributions),
`quotes` (which sentences of a plan a reason may quote), `drawbacks` (the main drawback of a
program for an applicant), `fit_level` (the fit score in words), `applicant_facts` (what is
known of the applicant), `results` (the `Recommendation` types) and `round_scores` (a round's
score matrices).

May import: recommender.text, recommender.embedding, recommender.retrieval,
recommender.ranking and the shared modules (errors, constants, schemas). Never rounds,
allocation, reports, store, io, api or training.
"""
