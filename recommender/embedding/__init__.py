"""Dense vectors: the sentence-transformers encoder, the offline e5 rebuild and the
vector cache.

May import: recommender.text, recommender.errors, recommender.constants.
"""
