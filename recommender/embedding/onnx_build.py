"""Build the int8 ONNX form of a sentence-transformers BERT model, offline, into its folder.

`peyvand models build-default` runs it after `e5_convert` (the "onnx-int8" runtime also runs it
once when the file is missing), never at each start. Four steps, each measured on this
project's machine (README, Speed):

1. export: transformers `BertModel` with eager attention (transformers' SDPA mask code exports
   to Where/IsNaN nodes that took a third of the run time) and the model's own pooling (mean
   over the attention mask, then L2 normalization) inside the graph, so a session returns the
   sentence vectors; traced with dynamic batch and sequence axes. In fp32 it gives the same
   vectors as sentence-transformers (cosine 1.0000 with padding);
2. ONNX Runtime's BERT fusion: one `Attention`, `SkipLayerNormalization` and `BiasGelu` node
   per layer, the embeddings in one `EmbedLayerNormalization`;
3. SmoothQuant (Xiao et al., 2023): a few input channels of the matrix products carry values
   far beyond the rest (after GELU up to ~60 where the typical value is ~0.15), so one int8
   scale per tensor leaves the typical values a handful of steps. Each product's input channel
   j is divided by s_j = max|x_j|^0.75 / max|w_j|^0.25 (a `Mul` before it) and the weight's
   row j multiplied by it: the same function in fp32, with the range moved from the
   activations into the per-channel weight scales. max|x_j| is measured on the project's own
   texts (`_calibration_texts`: the sample programs and plan, never evaluation data);
4. dynamic int8 quantization of the matrix products only (`MatMul`, `Attention`): weights int8
   per output channel, activations uint8 quantized per call (AVX2 or AVX-512 VNNI kernels).
   The embedding table, LayerNorms, GELU, softmax and the pooling stay fp32: quantizing the
   250k-word table too costs short queries cosine 0.992.

Out: `model_dir/onnx/model_qint8.onnx` and `model_dir/onnx/peyvand_onnx.json` (what it was built
from, the recipe version). Written under a temporary name and renamed into place.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from recommender.errors import ConfigurationError

logger = logging.getLogger(__name__)

__all__ = ["ONNX_FILE", "RECIPE_VERSION", "build_onnx_int8", "onnx_int8_path", "read_onnx_marker"]

ONNX_DIR = "onnx"
ONNX_FILE = "model_qint8.onnx"
ONNX_MARKER = "peyvand_onnx.json"
# Bump when the export, fusion or quantization changes: the vectors change with it, and the
# runtime's identity (part of `Embedder.model_id_`) carries it.
RECIPE_VERSION = 2
_OPSET = 17
# SmoothQuant's migration strength: 0.75 left the smallest error to fp32 among 0.5-0.9 (README).
SMOOTH_ALPHA = 0.75


def onnx_int8_path(model_dir: Path) -> Path:
    """Where the int8 ONNX file of `model_dir` lives."""
    return model_dir / ONNX_DIR / ONNX_FILE


def read_onnx_marker(model_dir: Path) -> dict[str, Any] | None:
    """The build marker of `model_dir`'s ONNX file, or None."""
    try:
        data = json.loads((model_dir / ONNX_DIR / ONNX_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_built(model_dir: Path, source_id: str) -> bool:
    marker = read_onnx_marker(model_dir)
    return (
        onnx_int8_path(model_dir).is_file()
        and marker is not None
        and marker.get("recipe_version") == RECIPE_VERSION
        and marker.get("source") == source_id
    )


def build_onnx_int8(model_dir: Path, source_id: str, *, force: bool = False) -> Path:
    """Export, fuse and quantize the BERT model in `model_dir`; returns the ONNX file.

    A no-op when the file exists and its marker names the same `source_id` (the model's
    fingerprint) and recipe version.

    Args:
        model_dir: a sentence-transformers folder of a BERT-family model (mean pooling).
        source_id: identifies the weights (`models.model_fingerprint(model_dir)`).
        force: rebuild even when up to date.

    Raises:
        ConfigurationError: onnx/onnxruntime are not installed, or the export failed.
    """
    out = onnx_int8_path(model_dir)
    if not force and _is_built(model_dir, source_id):
        return out
    try:
        import onnxruntime
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.transformers import optimizer
    except ImportError as exc:
        raise ConfigurationError(
            "the onnx-int8 embedding runtime needs the packages onnxruntime and onnx"
        ) from exc
    import onnx
    import torch

    out.parent.mkdir(parents=True, exist_ok=True)
    logger.info("building the int8 ONNX model in %s", out.parent)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".build-") as work:
        fp32 = Path(work) / "model.onnx"
        config = _export(model_dir, fp32, torch)
        fused = Path(work) / "model_fused.onnx"
        opt = optimizer.optimize_model(
            str(fp32),
            model_type="bert",
            num_heads=int(config["num_attention_heads"]),
            hidden_size=int(config["hidden_size"]),
            opt_level=1,
        )
        stats = opt.get_fused_operator_statistics()
        if stats.get("Attention", 0) != int(config["num_hidden_layers"]):
            raise ConfigurationError(f"ONNX attention fusion failed for {model_dir}: {stats}")
        opt.save_model_to_file(str(fused))
        smoothed = Path(work) / "model_smoothed.onnx"
        _smooth(fused, smoothed, model_dir, onnx, onnxruntime)
        tmp_out = Path(work) / ONNX_FILE
        quantize_dynamic(
            str(smoothed),
            str(tmp_out),
            per_channel=True,
            reduce_range=False,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Attention"],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        os.replace(tmp_out, out)
    marker = {
        "recipe_version": RECIPE_VERSION,
        "source": source_id,
        "onnxruntime": onnxruntime.__version__,
        "torch": torch.__version__,
        "quantization": (
            f"SmoothQuant alpha {SMOOTH_ALPHA}, then dynamic int8, per-channel weights, "
            "MatMul+Attention only"
        ),
    }
    (out.parent / ONNX_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return out


def _export(model_dir: Path, target: Path, torch: Any) -> dict[str, Any]:
    """Trace BertModel + mean pooling + L2 normalization to `target`; returns the config."""
    import warnings

    from transformers import AutoModel

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
    model.eval()

    class _Pooled(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.inner(input_ids=input_ids, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            summed = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(summed, dim=-1)

    ids = torch.full((2, 16), 5, dtype=torch.long)
    mask = torch.ones_like(ids)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python code
        torch.onnx.export(
            _Pooled(model),
            (ids, mask),
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "embedding": {0: "batch"},
            },
            opset_version=_OPSET,
            dynamo=False,
        )
    return dict(config)


def _calibration_texts(model_dir: Path) -> list[str]:
    """The project's own Persian texts with the model's prompts: the sample programs'
    descriptions (passages), their names (queries), the sample plan, and runs of six
    descriptions (long passages, up to the 512-token limit)."""
    from data.catalog import load_program_dicts, sample_plan
    from recommender.text.normalization import normalize

    try:
        conf = json.loads((model_dir / "config_sentence_transformers.json").read_text("utf-8"))
        prompts = dict(conf.get("prompts") or {})
    except (OSError, ValueError):
        prompts = {}
    passage, query = prompts.get("passage", ""), prompts.get("query", "")
    programs = load_program_dicts()
    descriptions = [normalize(p["description"]) for p in programs]
    long = [" ".join(descriptions[i : i + 6]) for i in range(0, len(descriptions), 6)]
    return [
        *(passage + t for t in [*descriptions, *long, normalize(sample_plan())]),
        *(query + normalize(p["name"]) for p in programs),
    ]


def _smooth(source: Path, target: Path, model_dir: Path, onnx: Any, ort: Any) -> None:
    """SmoothQuant the fused graph `source` into `target` (step 3 of the module docstring)."""
    import numpy as np
    from onnx import numpy_helper
    from tokenizers import Tokenizer

    model = onnx.load(str(source))
    weights = {init.name: init for init in model.graph.initializer}
    products = [
        node
        for node in model.graph.node
        if node.op_type in ("MatMul", "Attention") and node.input[1] in weights
    ]
    # Per input channel maxima, over the real (unpadded) tokens of the calibration texts.
    model.graph.output.extend(
        onnx.helper.make_tensor_value_info(node.input[0], onnx.TensorProto.FLOAT, None)
        for node in products
    )
    session = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    del model.graph.output[1:]
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.enable_truncation(512)
    tok.enable_padding(pad_id=int(tok.token_to_id("<pad>") or 0), pad_token="<pad>")
    texts = _calibration_texts(model_dir)
    maxima: list[Any] = [None] * len(products)
    for start in range(0, len(texts), 8):
        encodings = tok.encode_batch(texts[start : start + 8])
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": mask}
        for i, x in enumerate(session.run(None, feed)[1:]):
            m = np.abs(x[mask.astype(bool)]).max(axis=0)
            maxima[i] = m if maxima[i] is None else np.maximum(maxima[i], m)
    del session
    nodes = list(model.graph.node)
    for node, x_max in zip(products, maxima, strict=True):
        w = numpy_helper.to_array(weights[node.input[1]])  # (in, out)
        scale = np.maximum(x_max, 1e-5) ** SMOOTH_ALPHA / np.maximum(
            np.abs(w).max(axis=1), 1e-5
        ) ** (1 - SMOOTH_ALPHA)
        scale = np.clip(scale, 1e-2, 1e3).astype(np.float32)
        weights[node.input[1]].CopyFrom(
            numpy_helper.from_array((w * scale[:, None]).astype(np.float32), node.input[1])
        )
        inverse = f"{node.name}/smooth_inverse"
        model.graph.initializer.append(numpy_helper.from_array(1.0 / scale, inverse))
        smoothed = f"{node.name}/smoothed_input"
        mul = onnx.helper.make_node(
            "Mul", [node.input[0], inverse], [smoothed], name=f"{node.name}/smooth"
        )
        nodes.insert(nodes.index(node), mul)  # right before its product: still topological
        node.input[0] = smoothed
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, str(target))
