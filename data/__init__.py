"""Peyvand's FICTIONAL sample data: the program catalogue, a sample plan and the seeded
synthetic history generator (see data/README.md); the sector list is `recommender.taxonomy`.
Import `data.catalog` and `data.synthetic` directly; this package imports nothing on its own."""
