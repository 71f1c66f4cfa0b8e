"""The one owner of the database: every table, the migrations and the queries.

May import: recommender.schemas, recommender.errors, recommender.constants.
"""
