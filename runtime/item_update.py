"""Catalogue updates for an on-device export: new items' vectors in a few hundred bytes (int8 + a scale).

Layout (little-endian): b"ODRI", version u8, dim u16, count u16, the first 8 bytes of the target model's
sha256; then per item: id length u8, the original id in UTF-8, scale f32, dim int8 values (vector = scale *
values); last, the CRC-32 (u32) of every byte before it. The model hash binds an update to the export whose
vector space it was computed in; the CRC catches a damaged transfer (version 1 had none, so a flipped byte in
a vector was applied silently).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

MAGIC = b"ODRI"
VERSION = 2
_HEADER = struct.Struct("<4sBHH8s")
_ITEM = struct.Struct("<f")
_CHECKSUM = struct.Struct("<I")
MAX_ID_BYTES = 255


class ItemUpdateError(ValueError):
    """A catalogue update that is malformed or meant for another model; the message says which and why."""


@dataclass(frozen=True)
class ItemUpdate:
    """Decoded update: original ids, float32 vectors [count, dim], and the model hash prefix it targets."""

    original_ids: tuple[str, ...]
    vectors: np.ndarray
    model_sha256_prefix: str


def encode_item_update(original_ids: list[str], vectors: np.ndarray, model_sha256: str) -> bytes:
    """The update bytes for `vectors` [count, dim] of `original_ids`, for the model of hex `model_sha256`.

    Raises:
        ItemUpdateError: ids and vectors of different counts, an empty or too long id, a non-finite vector.
    """
    vectors = np.asarray(vectors, np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(original_ids):
        raise ItemUpdateError(
            f"vectors {list(vectors.shape)} must be [len(original_ids)={len(original_ids)}, dim]"
        )
    if not np.all(np.isfinite(vectors)):
        raise ItemUpdateError("vectors hold NaN or infinity; recompute them before shipping an update")
    parts = [
        _HEADER.pack(MAGIC, VERSION, vectors.shape[1], len(original_ids), bytes.fromhex(model_sha256[:16]))
    ]
    for original_id, vector in zip(original_ids, vectors, strict=True):
        encoded = str(original_id).encode("utf-8")
        if not 1 <= len(encoded) <= MAX_ID_BYTES:
            raise ItemUpdateError(f"original id {original_id!r} must be 1..{MAX_ID_BYTES} UTF-8 bytes")
        scale = float(np.abs(vector).max()) / 127.0 or 1.0
        values = np.clip(np.rint(vector / scale), -127, 127).astype(np.int8)
        parts += [bytes([len(encoded)]), encoded, _ITEM.pack(scale), values.tobytes()]
    payload = b"".join(parts)
    return payload + _CHECKSUM.pack(zlib.crc32(payload))


def decode_item_update(data: bytes, source: str = "item update") -> ItemUpdate:
    """Parses update bytes; `source` (a file name) goes into every error.

    Raises:
        ItemUpdateError: wrong magic or version, a checksum that does not match (a damaged byte), truncated
            or trailing bytes, an id that is not UTF-8.
    """
    hint = "ask the server for the update again"
    if len(data) < _HEADER.size + _CHECKSUM.size:
        raise ItemUpdateError(f"{source} is {len(data)} bytes, shorter than the header; {hint}")
    magic, version, dim, count, model_prefix = _HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION:
        raise ItemUpdateError(f"{source} is not an odrec item update of version {VERSION}; {hint}")
    data, (checksum,) = data[: -_CHECKSUM.size], _CHECKSUM.unpack(data[-_CHECKSUM.size :])
    if zlib.crc32(data) != checksum:
        raise ItemUpdateError(f"{source} is corrupted (its CRC-32 does not match its content); {hint}")
    offset, original_ids, vectors = _HEADER.size, [], np.zeros((count, dim), np.float32)
    try:
        for row in range(count):
            length = data[offset]
            original_ids.append(data[offset + 1 : offset + 1 + length].decode("utf-8"))
            offset += 1 + length
            (scale,) = _ITEM.unpack_from(data, offset)
            offset += _ITEM.size
            values = np.frombuffer(data, np.int8, count=dim, offset=offset)
            vectors[row] = scale * values.astype(np.float32)
            offset += dim
    except (IndexError, ValueError, struct.error) as error:
        raise ItemUpdateError(f"{source} is truncated or corrupted ({error}); {hint}") from None
    if offset != len(data) or len(set(original_ids)) != count or not np.all(np.isfinite(vectors)):
        raise ItemUpdateError(f"{source} has trailing bytes, repeated ids or non-finite values; {hint}")
    return ItemUpdate(tuple(original_ids), vectors, model_prefix.hex())
