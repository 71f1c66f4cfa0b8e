"""Candidate programs for a query.

Owns: the `CandidateRetriever` estimator (`hybrid`: fit, search, score_programs, save/load,
`with_records` for filters on current records) and what it returns (`candidate`),
the dense FAISS side (`dense`), BM25 and the text it indexes of a program (`lexical`), the
fusion of the two signals with its per-query adaptive weight (`fusion`), the staff filters on
programs (`filters`: `ProgramFilter`, whose shared conditions come from
`recommender.eligibility`), and versioned index folders with the CURRENT pointer (`index`).

May import: recommender.text, recommender.eligibility, recommender.estimator,
recommender.schemas, recommender.errors, recommender.constants. Not recommender.embedding (the
retriever takes vectors, not an embedder), and never ranking, scoring, rounds or later stages.
"""
