"""Photo facts (camera, lens, exposure, GPS, colour profile, XMP rating) from image metadata. No Qt.

Everything here reads untrusted files in worker processes: damaged or absurd values become None,
never an exception, and the work done on any input is bounded.
"""

from __future__ import annotations

import io
import logging
import math
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from PIL import Image, ImageCms

from dedup_gui.core.model import PhotoFacts

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# XMP packets are tens of kB; Lightroom sidecars with edit history reach a few MB. The rating
# and label sit in the first rdf:Description, so a cap costs nothing real and bounds the work.
_MAX_XMP_BYTES = 4 * 1024 * 1024
_MAX_ICC_BYTES = 16 * 1024 * 1024  # big printer profiles are a few MB; more is not a profile
_MAX_TEXT = 100  # characters kept of any text fact: enough for a lens name, bounded for the UI

_XMP_NS = "http://ns.adobe.com/xap/1.0/"
# Prefixes bound to the xmp namespace. The closing quote must follow the URI exactly, so
# xmpMM ("http://ns.adobe.com/xap/1.0/mm/") does not count.
_XMP_PREFIX = re.compile(
    r"xmlns:([A-Za-z_][\w.-]{0,63})\s{0,16}=\s{0,16}([\"'])" + re.escape(_XMP_NS) + r"\2"
)
_MAX_PREFIXES = 8  # a real packet binds the namespace once or twice; more is garbage
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6}|amp|lt|gt|quot|apos);")
_NAMED_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
# Control characters (but not tab/newline, which strip() handles) in text meant for one line.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class XmpFacts:
    """What an XMP packet says about how the photographer rated the picture."""

    rating: int | None = None  # xmp:Rating: -1 (rejected), 0 (unrated) to 5
    label: str | None = None  # xmp:Label: "Red", "Select", ...


NO_XMP = XmpFacts()

# EXIF tags (CIPA DC-008): IFD0, then the Exif and GPS sub-IFDs.
_MAKE, _MODEL = 0x010F, 0x0110
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_EXPOSURE_TIME, _F_NUMBER, _FOCAL_LENGTH = 0x829A, 0x829D, 0x920A
_SENSITIVITY, _RECOMMENDED_EXPOSURE_INDEX, _ISO_SPEED = 0x8827, 0x8832, 0x8833
_LENS_SPECIFICATION, _LENS_MAKE, _LENS_MODEL = 0xA432, 0xA433, 0xA434
_GPS_LATITUDE, _GPS_LONGITUDE = 0x0002, 0x0004
_TIFF_XMP = 700

# Plausible ranges; anything outside is a damaged or hostile value, dropped.
_EXPOSURE_RANGE_S = (1e-6, 24 * 3600.0)  # electronic shutters reach 1/80000 s; bulb, hours
_F_NUMBER_RANGE = (0.5, 1000.0)  # f/0.7 lenses to pinholes
_FOCAL_RANGE_MM = (0.1, 10_000.0)
_ISO_RANGE = (1, 10_000_000)  # the highest expanded ISO sold is a few million
# Words in EXIF Make that name the company, not the brand: "NIKON CORPORATION" is "NIKON",
# "OLYMPUS IMAGING CORP." is "OLYMPUS", "Leica Camera AG" is "Leica".
_CORPORATE = frozenset(
    {"corporation", "corp", "co", "ltd", "inc", "company", "imaging", "optical", "camera", "ag"}
)


def parse_xmp(data: bytes | bytearray | str) -> XmpFacts:
    """Read xmp:Rating and xmp:Label from an XMP packet (an .xmp sidecar or an embedded one).

    Both the attribute form (``xmp:Rating="3"``) and the element form
    (``<xmp:Rating>3</xmp:Rating>``) are read, under whatever prefix the packet binds to the
    xmp namespace. This is a bounded pattern match, not an XML parser: no entities are
    expanded, nothing is fetched, and garbage or truncated packets simply give no facts.

    Args:
        data: the packet's bytes (UTF-8, or UTF-16 with a byte-order mark), or its text.

    Returns:
        The rating and label found; ``XmpFacts(None, None)`` for anything else.
    """
    try:
        text = _xmp_text(data)
        prefixes = list(dict.fromkeys(m.group(1) for m in _XMP_PREFIX.finditer(text)))
        prefixes = prefixes[:_MAX_PREFIXES]
        rating_text = _xmp_property(text, prefixes, "Rating")
        label_text = _xmp_property(text, prefixes, "Label")
        return XmpFacts(rating=_rating(rating_text), label=clean_text(label_text))
    except Exception:  # hostile input must never stop a scan; there is nothing to report
        return NO_XMP


def _xmp_text(data: bytes | bytearray | str) -> str:
    if isinstance(data, str):
        return data[:_MAX_XMP_BYTES]
    head = bytes(data[:_MAX_XMP_BYTES])
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    return head.decode("utf-8", errors="replace")


def _xmp_property(text: str, prefixes: list[str], name: str) -> str | None:
    """The first value of ``prefix:name`` as an attribute or a simple element, unescaped.

    One pattern for all prefixes and both forms, so the text is scanned once per property.
    Every repeat is bounded and stops at a quote or "<", so the work stays linear in the text.
    """
    if not prefixes:
        return None
    qname = "(?:" + "|".join(re.escape(p) for p in prefixes) + "):" + name
    pattern = re.compile(
        rf"(?<![\w:.-]){qname}\s{{0,16}}=\s{{0,16}}(?:\"([^\"<]{{0,1000}})\"|'([^'<]{{0,1000}})')"
        rf"|<(?P<q>{qname})(?:\s[^<>]{{0,1000}})?>([^<]{{0,1000}})</(?P=q)\s{{0,16}}>"
    )
    match = pattern.search(text)
    if match is None:
        return None
    value = next(g for g in match.group(1, 2, 4) if g is not None)
    return _unescape(value)


def _unescape(value: str) -> str:
    """XML's five predefined entities and character references; nothing a DTD could define."""

    def replace(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref in _NAMED_ENTITIES:
            return _NAMED_ENTITIES[ref]
        code = int(ref[2:], 16) if ref.startswith("#x") else int(ref[1:])
        return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"

    return _ENTITY.sub(replace, value)


def _rating(text: str | None) -> int | None:
    """xmp:Rating is an XMP Real from -1 to 5; editors write whole numbers ("3", "3.0")."""
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    if not value.is_integer() or not -1 <= value <= 5:  # NaN and inf fail is_integer
        return None
    return int(value)


def clean_text(value: object) -> str | None:
    """Text fit for one line of the UI: decoded, NULs and controls gone, stripped, capped.

    Bytes are read as UTF-8 if they are, else as Latin-1 (older cameras write that); anything
    that is not text or bytes, or is empty after cleaning, gives None.
    """
    if isinstance(value, (bytes, bytearray)):
        value = _decode(bytes(value[: _MAX_TEXT * 4]), cut=len(value) > _MAX_TEXT * 4)
    if not isinstance(value, str):
        return None
    # EXIF ASCII ends at the first NUL; what some cameras leave after it is padding or junk.
    text = _CONTROLS.sub("", value[: _MAX_TEXT * 4].split("\x00", 1)[0])
    text = " ".join(text.split())  # newlines and runs of spaces become one space
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 1].rstrip() + "…"
    return text or None


def _decode(raw: bytes, *, cut: bool) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if cut and exc.start >= len(raw) - 3:  # our cap split a character: drop its start
            return raw[: exc.start].decode("utf-8")
        return raw.decode("latin-1")


def merge_sidecar(facts: PhotoFacts, xmp: XmpFacts) -> PhotoFacts:
    """``facts`` with a sidecar's rating and label, which win over embedded ones.

    A sidecar that does not set one keeps the embedded value. Either way the photo has XMP.
    """
    return replace(
        facts,
        rating=facts.rating if xmp.rating is None else xmp.rating,
        label=facts.label if xmp.label is None else xmp.label,
        has_xmp=True,
    )


def read_facts(img: Image.Image) -> PhotoFacts:
    """What photographers choose by, from an opened (not necessarily loaded) Pillow image.

    Reads EXIF (camera, lens, ISO, exposure, aperture, focal length, GPS), the ICC profile's
    description and embedded XMP (rating, label). Each fact is read on its own: a damaged one
    becomes None (or False) without losing the others, and nothing here raises.
    """
    exif = _safely(img.getexif, None)
    main: Mapping[int, Any] = exif if exif is not None else {}
    exif_ifd: Mapping[int, Any] = _safely(lambda: exif.get_ifd(_EXIF_IFD), {}) if exif else {}
    gps: Mapping[int, Any] = _safely(lambda: exif.get_ifd(_GPS_IFD), {}) if exif else {}
    packet = _safely(lambda: _embedded_xmp(img), None)
    xmp = parse_xmp(packet) if packet is not None else NO_XMP
    return PhotoFacts(
        camera=_safely(lambda: _camera(main.get(_MAKE), main.get(_MODEL)), None),
        lens=_safely(lambda: _lens(exif_ifd), None),
        iso=_safely(lambda: _iso(exif_ifd), None),
        exposure_s=_safely(
            lambda: _in_range(exif_ifd.get(_EXPOSURE_TIME), _EXPOSURE_RANGE_S), None
        ),
        f_number=_safely(lambda: _in_range(exif_ifd.get(_F_NUMBER), _F_NUMBER_RANGE), None),
        focal_mm=_safely(lambda: _in_range(exif_ifd.get(_FOCAL_LENGTH), _FOCAL_RANGE_MM), None),
        has_gps=_safely(lambda: _has_gps(gps), False),
        colour_profile=_safely(lambda: _colour_profile(img.info.get("icc_profile")), None),
        rating=xmp.rating,
        label=xmp.label,
        has_xmp=packet is not None and _is_editors_xmp(packet, xmp),
    )


def _safely(read: Callable[[], _T], default: _T) -> _T:
    try:
        return read()
    except Exception as exc:  # hostile metadata: this one fact is unknown, the rest stand
        log.debug("unreadable photo fact: %r", exc)
        return default


def _camera(make: object, model: object) -> str | None:
    """The model, with the brand if it lacks it: "Canon EOS R5", "NIKON D850", "SONY ILCE-7M3"."""
    model_text, make_text = clean_text(model), clean_text(make)
    if make_text is None:
        return model_text
    words = [w for w in re.split(r"[\s,]+", make_text) if w.strip(".").casefold() not in _CORPORATE]
    brand = " ".join(words) or make_text
    if model_text is None:
        return brand
    if any(len(w) > 1 and w.strip(".").casefold() in model_text.casefold() for w in words):
        return model_text
    return clean_text(f"{brand} {model_text}")


def _lens(exif_ifd: Mapping[int, Any]) -> str | None:
    model = clean_text(exif_ifd.get(_LENS_MODEL))
    if model is not None and any(c.isalnum() for c in model):  # some cameras write "----"
        return model
    make = clean_text(exif_ifd.get(_LENS_MAKE))
    spec = _safely(lambda: _lens_specification(exif_ifd.get(_LENS_SPECIFICATION)), None)
    return clean_text(" ".join(part for part in (make, spec) if part)) if make or spec else None


def _lens_specification(value: object) -> str | None:
    """LensSpecification (shortest and longest focal length, widest aperture at each) as
    "24-70mm f/2.8" or "18-55mm f/3.5-5.6"; unknown parts (written as 0/0) are left out."""
    if not isinstance(value, (tuple, list)) or len(value) != 4:
        return None
    short, long, wide, wide_at_long = (_in_range(v, (1e-3, 1e5)) for v in value)
    parts = []
    if short is not None:
        same = long is None or math.isclose(short, long)
        parts.append(f"{short:.4g}mm" if same else f"{short:.4g}-{long:.4g}mm")
    if wide is not None:
        same = wide_at_long is None or math.isclose(wide, wide_at_long)
        parts.append(f"f/{wide:.3g}" if same else f"f/{wide:.3g}-{wide_at_long:.3g}")
    return " ".join(parts) or None


def _iso(exif_ifd: Mapping[int, Any]) -> int | None:
    value = _in_range(_first(exif_ifd.get(_SENSITIVITY)), _ISO_RANGE)
    # A SHORT tops out at 65535: cameras write that and put the real ISO in another tag.
    if value is None or value == 65535:
        for tag in (_ISO_SPEED, _RECOMMENDED_EXPOSURE_INDEX):
            better = _in_range(_first(exif_ifd.get(tag)), _ISO_RANGE)
            if better is not None:
                return round(better)
    return None if value is None else round(value)


def _first(value: object) -> object:
    """The first of several values (PhotographicSensitivity may hold more than one)."""
    if isinstance(value, (tuple, list)):
        return value[0] if value else None
    return value


def _in_range(value: object, bounds: tuple[float, float]) -> float | None:
    """A number (int, float or EXIF rational) within ``bounds``; None for anything else.

    A one-value tuple counts as its value; zero denominators (NaN), infinities and text don't.
    """
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    low, high = bounds
    return number if math.isfinite(number) and low <= number <= high else None


def _has_gps(gps: Mapping[int, Any]) -> bool:
    """Latitude and longitude both recorded, and not the 0,0 a camera writes without a fix."""
    coords = [_gps_coordinate(gps.get(tag)) for tag in (_GPS_LATITUDE, _GPS_LONGITUDE)]
    if any(c is None for c in coords):
        return False
    return coords != [0.0, 0.0]


def _gps_coordinate(value: object) -> float | None:
    """Degrees from (degrees, minutes, seconds); None unless all three are sane numbers."""
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        return None
    parts = [_in_range(v, (0.0, 360.0)) for v in value]
    if any(p is None for p in parts):
        return None
    degrees, minutes, seconds = (p or 0.0 for p in parts)
    return degrees + minutes / 60 + seconds / 3600


def _colour_profile(icc: object) -> str | None:
    """The ICC profile's description ("sRGB IEC61966-2.1", "Display P3"); None if unreadable."""
    if not isinstance(icc, (bytes, bytearray)) or not icc or len(icc) > _MAX_ICC_BYTES:
        return None
    profile = ImageCms.ImageCmsProfile(io.BytesIO(bytes(icc)))
    return clean_text(ImageCms.getProfileDescription(profile))


def _embedded_xmp(img: Image.Image) -> bytes | str | None:
    """The XMP packet embedded in the file, where Pillow puts it.

    Pillow 13 gives ``info["xmp"]`` (bytes) for JPEG, WebP, PNG, TIFF and AVIF; older Pillows
    and some plugins only have the PNG iTXt key or TIFF tag 700, read as fallbacks.
    """
    for key in ("xmp", "XML:com.adobe.xmp"):
        packet = img.info.get(key)
        if isinstance(packet, (bytes, bytearray, str)) and packet:
            return packet if not isinstance(packet, bytearray) else bytes(packet)
    tags = getattr(img, "tag_v2", None)
    packet = tags.get(_TIFF_XMP) if tags is not None else None
    if isinstance(packet, (bytes, str)) and packet:
        return packet
    return None


# Namespaces only photo editors write: develop settings and edit history. Phones and drones embed
# XMP of their own (depth maps, HDR gain maps, panorama data), which says nothing about editing.
_EDITOR_NAMESPACES = (
    "http://ns.adobe.com/camera-raw-settings/1.0/",  # Lightroom, Camera Raw, Bridge
    "http://ns.adobe.com/lightroom/1.0/",
    "http://ns.adobe.com/photoshop/1.0/",
    "http://darktable.sf.net/",
    "http://www.digikam.org/ns/1.0/",
)
_HISTORY = ("xmpMM:History", "stEvt:action")  # the edit history Photoshop and others keep


def _is_editors_xmp(packet: bytes | str, xmp: XmpFacts) -> bool:
    """Embedded XMP an editor wrote: a rating or label, develop settings, or an edit history."""
    if not _looks_like_xmp(packet):
        return False
    if xmp.rating is not None or xmp.label is not None:
        return True
    text = _xmp_text(packet)
    return any(ns in text for ns in _EDITOR_NAMESPACES) or any(h in text for h in _HISTORY)


def _looks_like_xmp(packet: bytes | str) -> bool:
    """An XMP packet, not an empty or garbage one: it has the xmpmeta wrapper or RDF."""
    head = packet[:_MAX_XMP_BYTES]
    if isinstance(head, str):
        return "xmpmeta" in head or ":RDF" in head
    return b"xmpmeta" in head or b":RDF" in head
