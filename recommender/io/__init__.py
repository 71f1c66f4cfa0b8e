"""Files in and out of the store: reading and validating programs, applications, rounds and
outcomes from JSON/CSV/XLSX with row-numbered errors (`reading.py`), writing them in the
same forms (`writing.py`), and the one import use case shared by the CLI, the API and the web
page (`imports.py`: validate -> one transaction -> audit -> counts).

May import: recommender.text, recommender.store, recommender.schemas, recommender.errors,
recommender.constants. Never `api/` or `training/`; the store never imports this package.
"""
