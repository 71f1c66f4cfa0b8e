"""Candidate programs for a query: BM25, FAISS and their fusion, and the eligibility filter.

May import: recommender.text, recommender.embedding.encoder, recommender.schemas,
recommender.errors, recommender.constants.
"""
