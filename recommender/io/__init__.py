"""Reading and writing programs, applications, rounds and outcomes as JSON/CSV/XLSX files.

May import: recommender.text, recommender.schemas, recommender.errors, recommender.constants.
"""
