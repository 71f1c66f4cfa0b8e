"""Features of a (plan, program) pair and the residency and funding rankers.

May import: recommender.text, recommender.schemas, recommender.errors, recommender.constants.
"""
