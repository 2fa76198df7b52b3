""".xmp sidecars: which belong to an image, their rating and label, which move with it. No Qt.

Two naming schemes are in use: "<name>.<ext>.xmp" (darktable, digiKam: IMG_1.CR2.xmp) belongs to
that one image; "<stem>.xmp" (Lightroom, Capture One, Bridge: IMG_1.xmp) to every image of that
stem in its folder (a RAW and its JPEG share it). Names match case-insensitively against the
folder's real listing, so IMG_1.XMP counts too.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import stat
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

from dedup_gui.core.digest import file_content_hash
from dedup_gui.core.model import ImageRecord
from dedup_gui.core.photo_facts import merge_sidecar, parse_xmp
from dedup_gui.core.scanning import is_image_name

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".xmp"
# Rating and label sit in the first rdf:Description, at the top; Lightroom's edit history after
# them can reach megabytes, and a few hundred sidecars per group must stay cheap to read.
_MAX_READ_BYTES = 256 * 1024


def is_sidecar(path: Path) -> bool:
    """True for an .xmp file: never an image the scan yields, so it marks journal rows too."""
    return path.suffix.lower() == SIDECAR_SUFFIX


def belongs_to(sidecar: Path, image: Path) -> bool:
    """True if ``sidecar``'s name is "<image name>.xmp" or "<image stem>.xmp", same folder."""
    if sidecar.parent != image.parent or not is_sidecar(sidecar):
        return False
    base = sidecar.name[: -len(SIDECAR_SUFFIX)].casefold()
    return base in (image.name.casefold(), image.stem.casefold())


def find_sidecars(path: Path) -> tuple[Path, ...]:
    """The .xmp sidecars beside ``path`` that belong to it (see the module docstring)."""
    return find_sidecars_many([path])[path]


def find_sidecars_many(paths: Iterable[Path]) -> dict[Path, tuple[Path, ...]]:
    """``find_sidecars`` for many images, listing each folder once.

    Returns:
        Every given path, with its sidecars: "<name>.<ext>.xmp" first, then "<stem>.xmp". A
        folder that cannot be listed gives no sidecars (logged).
    """
    found: dict[Path, tuple[Path, ...]] = {}
    for folder, images in _by_folder(paths).items():
        listing = _Listing(folder)
        for image in images:
            found[image] = tuple(folder / name for name in listing.sidecars_of(image))
    return found


def attach_sidecars(records: Sequence[ImageRecord]) -> list[ImageRecord]:
    """``records`` with ``sidecars`` filled and their rating and label merged into ``facts``.

    A "<name>.<ext>.xmp" sidecar wins over a "<stem>.xmp" one, which wins over embedded XMP.
    A sidecar that cannot be read still belongs to the image (it moves with it) but adds no
    facts. Reads at most a few hundred KB of each sidecar.
    """
    found = find_sidecars_many(r.path for r in records)
    attached = []
    for record in records:
        sidecars = found[record.path]
        facts = record.facts
        for sidecar in reversed(sidecars):  # the stem form first, so the name form wins
            data = _read_head(sidecar)
            if data is not None:
                facts = merge_sidecar(facts, parse_xmp(data))
        attached.append(dataclasses.replace(record, sidecars=sidecars, facts=facts))
    return attached


@dataclass(frozen=True, slots=True)
class Sidecar:
    """A sidecar planned to move with its image(s), as it was when the batch was planned."""

    path: Path
    size: int
    mtime_ns: int
    content_hash: bytes | None  # None if it could not be read (it may still be moved)
    owners: tuple[Path, ...]  # the batch's images it belongs to, in batch order


def plan_sidecars(images: Sequence[Path]) -> dict[Path, tuple[Sidecar, ...]]:
    """Which sidecars a trash or move of ``images`` takes along, decided from the folders now.

    A "<name>.<ext>.xmp" goes with its image. A shared "<stem>.xmp" goes only if every image of
    that stem in the folder is among ``images``: a RAW kept while its JPEG is trashed keeps it.

    Returns:
        For an image, the sidecars to move right after it: a shared one follows the last of its
        owners in ``images``. Images without sidecars are left out.
    """
    plan: dict[Path, list[Sidecar]] = {}
    for folder, batch_images in _by_folder(images).items():
        listing = _Listing(folder)
        in_batch = {image.name for image in batch_images}
        by_stem: dict[str, list[Path]] = {}
        for image in batch_images:
            by_stem.setdefault(image.stem.casefold(), []).append(image)
        planned: set[str] = set()
        for image in batch_images:
            for name in listing.sidecars_of(image):
                if name in planned:
                    continue
                planned.add(name)
                if name.casefold() == image.name.casefold() + SIDECAR_SUFFIX:
                    owners: tuple[Path, ...] = (image,)
                elif listing.has_image_of_stem_besides(image.stem, in_batch):
                    continue  # another photo of that stem stays, and keeps its sidecar
                else:
                    owners = tuple(by_stem[image.stem.casefold()])
                sidecar = _planned(folder / name, owners)
                if sidecar is not None:
                    # _by_folder keeps batch order, so the last owner is the last in the batch.
                    plan.setdefault(owners[-1], []).append(sidecar)
    return {image: tuple(sidecars) for image, sidecars in plan.items()}


def paired_name(sidecar: Path, image: Path, image_now: Path) -> str:
    """The name ``sidecar`` needs to belong to ``image`` again after it was renamed
    ``image_now``: "IMG_1 (2).JPG.xmp" for IMG_1.JPG.xmp, "IMG_1 (2).xmp" for IMG_1.xmp."""
    base = sidecar.name[: -len(SIDECAR_SUFFIX)].casefold()
    suffix = sidecar.name[-len(SIDECAR_SUFFIX) :]  # keeps its case: .XMP stays .XMP
    if base == image.name.casefold():
        return image_now.name + suffix
    return image_now.stem + suffix


def _planned(path: Path, owners: tuple[Path, ...]) -> Sidecar | None:
    try:
        st = os.lstat(path)
    except OSError as exc:
        log.info("sidecar %r is gone or unreachable, not moved: %s", path, exc)
        return None
    if not stat.S_ISREG(st.st_mode):
        log.info("sidecar %r is not a regular file (a link?), not moved", path)
        return None
    try:
        digest: bytes | None = file_content_hash(path)
    except OSError as exc:  # moving needs no read permission; only the interrupted check does
        log.info("cannot read sidecar %r: %s", path, exc)
        digest = None
    return Sidecar(path, st.st_size, st.st_mtime_ns, digest, owners)


class _Listing:
    """One folder's sidecars and images, read once, indexed by case-folded name."""

    def __init__(self, folder: Path) -> None:
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            log.warning("cannot list %r for sidecars: %s", folder, exc)
            names = []
        self._sidecars: dict[str, list[str]] = {}
        self._images_by_stem: dict[str, list[str]] = {}
        for name in names:
            if name.lower().endswith(SIDECAR_SUFFIX):
                self._sidecars.setdefault(name.casefold(), []).append(name)
            elif is_image_name(name):
                self._images_by_stem.setdefault(Path(name).stem.casefold(), []).append(name)
        # "<stem>.xmp" that is another image's "<name>.<ext>.xmp" (IMG_1.JPG.png's stem form is
        # IMG_1.JPG's own sidecar) belongs to that image alone.
        self._claimed = {
            name.casefold() + SIDECAR_SUFFIX
            for names_of_stem in self._images_by_stem.values()
            for name in names_of_stem
        }

    def sidecars_of(self, image: Path) -> list[str]:
        """Names of ``image``'s sidecars: "<name>.<ext>.xmp" first, then "<stem>.xmp"."""
        own = image.name.casefold() + SIDECAR_SUFFIX
        shared = image.stem.casefold() + SIDECAR_SUFFIX
        names = list(self._sidecars.get(own, ()))
        if shared != own and shared not in self._claimed:  # equal for a name without extension
            names += self._sidecars.get(shared, ())
        return names

    def has_image_of_stem_besides(self, stem: str, names: AbstractSet[str]) -> bool:
        """True if an image of ``stem`` other than those named ``names`` is in the folder."""
        return any(n not in names for n in self._images_by_stem.get(stem.casefold(), ()))


def _by_folder(paths: Iterable[Path]) -> dict[Path, list[Path]]:
    """The paths by folder, each once, in their order."""
    folders: dict[Path, dict[Path, None]] = {}
    for path in paths:
        folders.setdefault(path.parent, {})[path] = None
    return {folder: list(images) for folder, images in folders.items()}


def _read_head(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read(_MAX_READ_BYTES)
    except OSError as exc:
        log.warning("cannot read sidecar %r, its rating and label are ignored: %s", path, exc)
        return None
