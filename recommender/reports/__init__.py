"""Committee files: summary, HTML report (Jinja), CSV and XLSX.

May import: recommender.allocation.solver, recommender.text and the shared modules.
"""
