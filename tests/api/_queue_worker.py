"""A queue worker process for the queue tests: `api.queue_worker.serve` (what `peyvand worker`
runs) with the round tests' small model, its embedder slowed by argv[1] seconds per call so
a test can kill a worker in the middle of a chunk. Prints `READY <worker id>` when it takes
messages. Settings come from the PEYVAND_* environment."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

from api.queue_worker import serve
from api.settings import Settings
from tests.recommender._round_fixtures import FakeEmbedder, make_model


class SlowEmbedder(FakeEmbedder):
    """The fake embedder (same id, same vectors), `delay` seconds slower per call."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def embed_documents(self, texts: Sequence[str], role: str = "passage") -> Any:
        time.sleep(self.delay)
        return super().embed_documents(texts, role)


def main() -> None:
    delay = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    model = make_model(embedder=SlowEmbedder(delay))
    serve(
        Settings(),
        scoring_model=lambda: model,
        ready=lambda identity: print("READY", identity, flush=True),
    )


if __name__ == "__main__":
    main()
