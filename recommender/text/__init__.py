"""Persian text in, before any model sees it.

Owns: normalization and lexical tokens (`normalization`, on hazm), Persian digits, rial
amounts and Jalali dates (`persian`), text made safe for files people open (`safe_text`),
splitting long plans into sentence-aligned chunks under a token budget (`chunking`), and the
facts a free-text plan states: stage, place, money, team, sectors (`facts`).

May import: recommender.errors, recommender.constants (and third-party libraries). Nothing
else of the project: every later stage imports this package, never the other way round.
"""
