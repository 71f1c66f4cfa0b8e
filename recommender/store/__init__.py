"""The one owner of the database: every table (`tables.py`: the store's records, a round's
scores and runs, the service's accounts, tokens, sessions, owners and jobs), the one Alembic
chain that creates them (`migrations/`), the engine and URL handling (`engine.py`) and the
queries on the store's records (`database.Store`).

May import: recommender.schemas, recommender.errors, recommender.constants. Nothing else of
the project (no io, no scoring, never `api/` or `training/`).
"""
