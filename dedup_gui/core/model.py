"""Plain, immutable records that the engine takes and returns, and that cross threads. No Qt."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum
from pathlib import Path

# Hamming distance (of 64 bits) at or under which two images are called near-duplicates.
# TODO(#6): re-choose from the accuracy benchmark; 8 of 64 is the usual pHash setting.
DEFAULT_MAX_DISTANCE = 8


class HashAlgorithm(str, Enum):
    """Perceptual hash algorithms, all from imagehash."""

    PHASH = "phash"
    DHASH = "dhash"
    AHASH = "ahash"
    WHASH = "whash"
    COLORHASH = "colorhash"
    CROP_RESISTANT = "crop_resistant"


@dataclass(frozen=True, slots=True)
class HashSettings:
    """Which perceptual hash to compute. Hashes made with other settings are never mixed."""

    algorithm: HashAlgorithm = HashAlgorithm.PHASH
    hash_size: int = 8

    @property
    def key(self) -> str:
        """Stable text naming these settings, used as the store's cache key."""
        return f"{self.algorithm.value}:{self.hash_size}"


@dataclass(frozen=True, slots=True)
class WalkOptions:
    """Which files the walk yields."""

    follow_symlinks: bool = False
    include_hidden: bool = False
    exclude_patterns: tuple[str, ...] = ()  # fnmatch patterns, matched against name and full path
    min_size_bytes: int = 0
    shallow_roots: tuple[Path, ...] = ()  # roots whose subfolders are not walked


@dataclass(frozen=True, slots=True)
class ScanRequest:
    """Everything a scan needs, built once on the caller's thread."""

    roots: tuple[Path, ...]
    walk: WalkOptions = field(default_factory=WalkOptions)
    hashing: HashSettings = field(default_factory=HashSettings)
    max_distance: int = DEFAULT_MAX_DISTANCE
    workers: int | None = None  # decoding processes; None means one per core
    per_file_timeout_s: float = 60.0  # a decoder that hangs longer costs that one file
    match_turned: bool = True  # also group copies rotated by 90/180/270 degrees or mirrored
    match_crops: bool = True  # also group cropped, watermarked and captioned copies (checked)
    pairs_as_duplicates: bool = False  # a RAW and its same-named JPEG may be marked duplicates


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A file the walk found, with the stat facts that decide whether it changed."""

    path: Path
    size: int
    mtime_ns: int
    links: int = 1  # st_nlink: names this file has on its file system, scanned or not


@dataclass(frozen=True, slots=True)
class PhotoFacts:
    """What photographers choose a copy by, from EXIF, the ICC profile and XMP.

    None (or False) means the file does not record it.
    """

    camera: str | None = None  # "Canon EOS R5": model, with the make only if the model lacks it
    lens: str | None = None
    iso: int | None = None
    exposure_s: float | None = None  # 0.004 for 1/250 s
    f_number: float | None = None
    focal_mm: float | None = None
    has_gps: bool = False
    colour_profile: str | None = None  # the ICC profile's description: "Display P3"
    rating: int | None = None  # xmp:Rating, -1 (rejected) to 5; a sidecar's wins over embedded
    label: str | None = None  # xmp:Label: "Red", "Select", ...
    has_xmp: bool = False  # an .xmp sidecar, or embedded XMP an editor wrote (not a phone's)


NO_FACTS = PhotoFacts()


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One image file, hashed."""

    path: Path
    size: int
    mtime_ns: int
    content_hash: bytes  # BLAKE2b-128 of the file's bytes: equal means exact copy
    perceptual_hash: bytes  # the algorithm's bits, big-endian; multi-hash algorithms concatenate
    width: int  # as displayed, i.e. after EXIF orientation
    height: int
    format: str  # Pillow's format name: "JPEG", "PNG", ...
    date_taken: str | None  # EXIF DateTimeOriginal as "YYYY-MM-DD HH:MM:SS", if any
    facts: PhotoFacts = NO_FACTS
    # Hashes of the picture turned to its canonical orientation, for matching rotated and
    # mirrored copies: entries of one Turn byte + one perceptual hash (see core/turning.py).
    # Empty when not computed (e.g. crop-resistant hashes).
    turned: bytes = b""
    # Hashes of the centred windows of the upright picture (core/crop_ladder.py), for matching
    # cropped, watermarked and captioned copies: one perceptual hash per rung, concatenated.
    # Empty when not computed (multi-hash algorithms, colorhash).
    ladder: bytes = b""
    sidecars: tuple[Path, ...] = ()  # .xmp files that belong to this image (move with it)

    @property
    def pixels(self) -> int:
        return self.width * self.height


class Turn(IntEnum):
    """How a picture is turned relative to another, as displayed: rotated clockwise by
    ``value % 4`` quarter turns, after mirroring left-right if ``value >= 4``."""

    NONE = 0
    ROTATED_90 = 1
    ROTATED_180 = 2
    ROTATED_270 = 3
    MIRRORED = 4
    MIRRORED_ROTATED_90 = 5
    MIRRORED_ROTATED_180 = 6  # the same as flipped upside down
    MIRRORED_ROTATED_270 = 7


class GroupKind(str, Enum):
    """How alike a group's members are, so true duplicates can be reviewed first."""

    EXACT = "exact"  # the same bytes or the same pixels
    SAME_PICTURE = "same_picture"  # one photo re-encoded, resized, converted or turned
    SIMILAR = "similar"  # alike but maybe different shots (a burst, an edit)


class Relation(str, Enum):
    """How a group member relates to its group's reference image."""

    REFERENCE = "reference"
    EXACT = "exact"  # same bytes
    SAME_PIXELS = "same_pixels"  # different file (metadata, container), identical decoded pixels
    NEAR = "near"  # looks the same within the distance threshold


@dataclass(frozen=True, slots=True)
class GroupMember:
    record: ImageRecord
    relation: Relation
    distance: int  # Hamming distance of perceptual hashes to the reference; 0 for the reference
    turn: Turn = Turn.NONE  # this member is the reference turned this way
    partner: Path | None = None  # its RAW or JPEG of the same shot, when in the same group
    cropped: bool = False  # matched through a centred window: one may be a crop of the other


@dataclass(frozen=True, slots=True)
class Group:
    """Images that look the same. ``members[0]`` is the reference (the best copy by default)."""

    members: tuple[GroupMember, ...]

    @property
    def reference(self) -> GroupMember:
        return self.members[0]

    @property
    def bytes_total(self) -> int:
        return sum(m.record.size for m in self.members)

    @property
    def bytes_reclaimable(self) -> int:
        """Space freed by keeping only the reference (with its RAW or JPEG partner, if it has
        one here: a pair is one photo, kept together)."""
        return sum(m.record.size for m in self.members[1:] if m.record.path != self.kept_partner)

    @property
    def kept_partner(self) -> Path | None:
        """The reference's RAW+JPEG partner, kept with it; None if it has none in the group."""
        return self.members[0].partner

    @property
    def max_distance(self) -> int:
        return max(m.distance for m in self.members)


class ProblemKind(str, Enum):
    """Why a file could not be used. Values are stable (stored, exported)."""

    EMPTY = "empty"  # zero bytes
    NOT_AN_IMAGE = "not_an_image"  # content is not an image format we know
    CORRUPT = "corrupt"  # truncated or damaged image data
    TOO_LARGE = "too_large"  # pixel count over the decompression-bomb limit
    UNSUPPORTED = "unsupported"  # an image format this machine cannot decode
    PERMISSION = "permission"  # no permission to read the file or folder
    VANISHED = "vanished"  # deleted or replaced between listing and hashing
    CRASHED = "crashed"  # the decoder crashed its worker process
    TIMED_OUT = "timed_out"  # the decoder took longer than the per-file limit
    UNREADABLE = "unreadable"  # any other I/O error
    PROTECTED = "protected"  # in a protected (reference) folder, which is never changed
    ALREADY_EXISTS = "already_exists"  # another file already has the name it would take


@dataclass(frozen=True, slots=True)
class Problem:
    """A file or folder that could not be used, with a plain reason for the user."""

    path: Path
    kind: ProblemKind
    detail: str


class ScanStage(str, Enum):
    WALKING = "walking"
    HASHING = "hashing"
    GROUPING = "grouping"
    VERIFYING = "verifying"  # comparing decoded pixels of likely same-pixel copies
    DONE = "done"


@dataclass(frozen=True, slots=True)
class ScanProgress:
    """A snapshot of a running scan. Counts only grow."""

    stage: ScanStage
    found: int = 0  # image files found by the walk
    to_hash: int = 0  # of those, how many need hashing (the rest are reused from the store)
    hashed: int = 0  # newly hashed so far
    reused: int = 0  # unchanged files whose hashes came from the store
    problems: int = 0
    bytes_hashed: int = 0
    current_folder: Path | None = None
    elapsed_s: float = 0.0
    to_check: int = 0  # likely copies to compare in fine detail (none remembered)
    checked: int = 0  # of those, compared so far


@dataclass(frozen=True, slots=True)
class ScanStats:
    found: int = 0
    hashed: int = 0  # files read and hashed in this scan
    decoded: int = 0  # of those, files whose pixels were decoded (not reused by content)
    reused: int = 0
    problems: int = 0
    bytes_hashed: int = 0
    elapsed_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ScanReport:
    groups: tuple[Group, ...]
    problems: tuple[Problem, ...]
    stats: ScanStats
    cancelled: bool = False
    # Hard links: trashing one name frees no space. Pairs (first path, its other names seen in
    # this scan), in walk order; a tuple, not a dict, so the report stays hashable and picklable.
    hard_links: tuple[tuple[Path, tuple[Path, ...]], ...] = ()
    linked_elsewhere: frozenset[Path] = frozenset()  # scanned files with names outside the scan
