"""Exact allocation of residency seats and funding under capacity and budget (HiGHS MILP).

May import: recommender.errors, recommender.constants, recommender.schemas.
"""
