"""Persian text in: normalization (hazm), Persian digits and Jalali dates, text made safe
for files people open, splitting long plans into chunks, and the facts a plan states.

May import: recommender.errors, recommender.constants.
"""
