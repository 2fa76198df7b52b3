"""Cropped, watermarked and captioned copies: hash centred windows of each picture. No Qt.

pHash resizes every picture to 32 x 32, so a copy cropped by 10 % is a 10 % change of scale, and
its hash is far from its original's even though no content moved. The hashes of centred windows
at about 0.9x steps (a "scale ladder") put every such crop within half a step of one rung: the
crop's whole picture lines up with the original's 90 % window, or its 90 % with the original's
81 %. The same windows leave out the borders where watermarks and captions sit.

90 / 80 / 70 % was measured against single windows, shifted windows, other ladders and
imagehash's crop-resistant hash on the accuracy corpus (benchmarks/RESULTS-crop.md, "ladder3-u"):
at distance 8 it finds crop_10 1.00 (upright hash alone: 0.12), watermark and captions 1.00, with
about 400x fewer unrelated candidates than widening the upright search to 16 bits. A 95 % rung
would catch the last 5 % crop of a fine periodic texture for 25 % more entries.

``ladder`` bytes (``ImageRecord.ladder``) are one perceptual hash per rung, in ``RUNGS`` order,
of the upright picture (the same picture, algorithm and hash size as the upright hash).
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image

from dedup_gui.core.model import HashAlgorithm

# Each rung's share of the picture's width and height, centred. See the module docstring.
RUNGS = (0.9, 0.8, 0.7)


def can_ladder(algorithm: HashAlgorithm) -> bool:
    """Whether ``ladder_hashes`` is worth computing for ``algorithm``; if not, ``ladder`` stays
    empty and grouping finds crops only as far as the upright hash does.

    Not for crop-resistant multi-hashes (they segment the picture themselves), nor for
    colorhash (a colour histogram barely changes with a crop, and cannot tell where it is).
    """
    return algorithm not in (HashAlgorithm.CROP_RESISTANT, HashAlgorithm.COLORHASH)


def window(small: Image.Image, share: float) -> Image.Image:
    """The centred window of ``small`` covering ``share`` of its width and height."""
    width, height = small.size
    margin = (1 - share) / 2
    box = (
        round(margin * width),
        round(margin * height),
        round((1 - margin) * width),
        round((1 - margin) * height),
    )
    return small.crop(box)


def ladder_hashes(small: Image.Image, hash_fn: Callable[[Image.Image], bytes]) -> bytes:
    """The hash of each centred window of ``small``, concatenated in ``RUNGS`` order.

    Args:
        small: the decoded, EXIF-upright picture that the upright hash is computed from.
        hash_fn: the perceptual hash of a picture (of one length whatever the picture).
    """
    return b"".join(hash_fn(window(small, share)) for share in RUNGS)


def rungs(ladder: bytes, hash_len: int) -> list[bytes]:
    """The per-rung hashes of ``ladder`` bytes with ``hash_len``-byte hashes (none if empty).

    Raises:
        ValueError: ``ladder`` is neither empty nor one ``hash_len``-byte hash per rung.
    """
    if hash_len <= 0 or len(ladder) not in (0, hash_len * len(RUNGS)):
        raise ValueError(f"{len(ladder)} bytes are not {len(RUNGS)} hashes of {hash_len} bytes")
    return [ladder[at : at + hash_len] for at in range(0, len(ladder), hash_len)]
