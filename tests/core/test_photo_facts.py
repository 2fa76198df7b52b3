"""Photo facts from real files written by Pillow: EXIF, GPS, ICC profiles, embedded and .xmp XMP."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageCms, PngImagePlugin, features
from PIL.TiffImagePlugin import IFDRational

from dedup_gui.core.model import NO_FACTS, PhotoFacts
from dedup_gui.core.photo_facts import (
    NO_XMP,
    XmpFacts,
    clean_text,
    merge_sidecar,
    parse_xmp,
    read_facts,
)

MAKE, MODEL = 0x010F, 0x0110
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
EXPOSURE, F_NUMBER, ISO, FOCAL = 0x829A, 0x829D, 0x8827, 0x920A
ISO_SPEED = 0x8833
LENS_SPEC, LENS_MAKE, LENS_MODEL = 0xA432, 0xA433, 0xA434
LAT_REF, LAT, LON_REF, LON = 1, 2, 3, 4

XMP_NS = "http://ns.adobe.com/xap/1.0/"


def packet(description: str, *, prefix: str = "xmp", uri: str = XMP_NS) -> bytes:
    """An XMP packet as Lightroom and exiftool write it, around one rdf:Description."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about="" xmlns:{prefix}="{uri}"\n'
        '    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"'
        f"{description}\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode()


def attrs(**values: str) -> str:
    return "".join(f' xmp:{k}="{v}"' for k, v in values.items()) + "/>"


# -- parse_xmp ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (packet(attrs(Rating="3", Label="Red")), XmpFacts(3, "Red")),
        (
            packet(">\n<xmp:Rating>5</xmp:Rating><xmp:Label>Select</xmp:Label></rdf:Description>"),
            XmpFacts(5, "Select"),
        ),
        # Another prefix for the same namespace (older Adobe software writes xap:)
        (packet(' xap:Rating="2"/>', prefix="xap"), XmpFacts(2, None)),
        (
            packet(">\n<xap:Label >To do</xap:Label ></rdf:Description>", prefix="xap"),
            XmpFacts(None, "To do"),
        ),
        (packet(attrs(Rating="-1")), XmpFacts(-1, None)),  # rejected
        (packet(attrs(Rating="0")), XmpFacts(0, None)),  # explicitly unrated
        (packet(attrs(Rating="4.0")), XmpFacts(4, None)),  # an XMP Real
        (packet(" xmp:Rating='1' xmp:Label='Blue'/>"), XmpFacts(1, "Blue")),
        (packet(attrs(Label="Rot &amp; Gr&#252;n &#x263A;")), XmpFacts(None, "Rot & Grün ☺")),
        # The same local name in another namespace is not a rating
        (packet(' xmpMM:Rating="3" xmpMM:Label="Red"/>'), NO_XMP),
        (packet(' xmp:Rating="3"/>', uri="http://example.com/not-xmp/"), NO_XMP),
        (packet(' xmp:Rating="3"/>', uri=XMP_NS + "mm/"), NO_XMP),
        (b'<r xmp:Rating="3" xmp:Label="Red"/>', NO_XMP),  # prefix never bound
    ],
)
def test_parse_xmp_reads_rating_and_label(data: bytes, expected: XmpFacts) -> None:
    assert parse_xmp(data) == expected


@pytest.mark.parametrize("rating", ["6", "-2", "2.5", "NaN", "inf", "", "three", "1e400", "3" * 50])
def test_parse_xmp_drops_absurd_ratings(rating: str) -> None:
    assert parse_xmp(packet(attrs(Rating=rating, Label="Green"))) == XmpFacts(None, "Green")


def test_parse_xmp_takes_text_bytes_and_utf16() -> None:
    data = packet(attrs(Rating="2", Label="Grün"))
    assert parse_xmp(data.decode()) == XmpFacts(2, "Grün")
    assert parse_xmp(bytearray(data)) == XmpFacts(2, "Grün")
    utf16 = data.decode().replace("\ufeff", "").encode("utf-16")  # with a byte-order mark
    assert parse_xmp(utf16) == XmpFacts(2, "Grün")


def test_parse_xmp_label_is_one_clean_capped_line() -> None:
    facts = parse_xmp(packet(attrs(Label="  Two\n\tlines &#1;" + "x" * 300)))
    assert facts.label is not None
    assert facts.label.startswith("Two lines x")
    assert len(facts.label) <= 100
    assert "\n" not in facts.label and "\x01" not in facts.label
    assert parse_xmp(packet(attrs(Label="   "))).label is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xfe\x00\xd8" * 100,
        bytes(range(256)) * 40,
        packet(attrs(Rating="3"))[:120],  # truncated before the property
        b"<x:xmpmeta" + b"<" * 10_000,
    ],
)
def test_parse_xmp_garbage_gives_nothing(data: bytes) -> None:
    assert parse_xmp(data) == NO_XMP


def test_parse_xmp_expands_no_entities() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description xmlns:xmp="'
        + XMP_NS.encode()
        + b'" xmp:Label="&lol2;" xmp:Rating="3"/></x:xmpmeta>'
    )
    assert parse_xmp(laughs) == XmpFacts(3, "&lol2;")  # the reference stays as written


def test_parse_xmp_work_is_bounded_on_hostile_input() -> None:
    # Many bound prefixes and thousands of properties opened but never closed, each followed by
    # almost as much text as a value may have: every start is a long, failing match attempt.
    header = b"".join(b'<r xmlns:p%d="%s" ' % (i, XMP_NS.encode()) for i in range(50))
    hostile = [
        header + (b"<p1:Rating>" + b"a" * 995) * 4_000,
        header + (b' p2:Label="' + b"b" * 995) * 4_000,
        header + b"xmlns:q=" * 500_000,
    ]
    started = time.perf_counter()
    assert [parse_xmp(h) for h in hostile] == [NO_XMP] * 3
    assert time.perf_counter() - started < 10  # generous for a loaded 2-core machine


def test_merge_sidecar_wins_over_embedded() -> None:
    embedded = PhotoFacts(camera="X100V", rating=2, label="Red", has_xmp=True)
    assert merge_sidecar(embedded, XmpFacts(5, None)) == PhotoFacts(
        camera="X100V", rating=5, label="Red", has_xmp=True
    )
    assert merge_sidecar(embedded, XmpFacts(None, "Green")).label == "Green"
    assert merge_sidecar(embedded, XmpFacts(0, None)).rating == 0  # cleared in the editor
    assert merge_sidecar(NO_FACTS, NO_XMP) == PhotoFacts(has_xmp=True)  # a sidecar exists


# -- read_facts -----------------------------------------------------------------------------------
def make_exif(
    main: dict[int, Any] | None = None,
    exif: dict[int, Any] | None = None,
    gps: dict[int, Any] | None = None,
) -> Image.Exif:
    result = Image.Exif()
    result.update(main or {})
    if exif:
        result.get_ifd(EXIF_IFD).update(exif)
    if gps:
        result.get_ifd(GPS_IFD).update(gps)
    return result


R5_MAIN = {MAKE: "Canon", MODEL: "Canon EOS R5"}
R5_EXIF = {
    EXPOSURE: IFDRational(1, 250),
    F_NUMBER: IFDRational(28, 10),
    ISO: 400,
    FOCAL: IFDRational(35, 1),
    LENS_MODEL: "RF24-70mm F2.8 L IS USM",
}
PARIS = {LAT_REF: "N", LAT: (48.0, 51.0, 24.0), LON_REF: "E", LON: (2.0, 21.0, 3.0)}
XMP = packet(attrs(Rating="3", Label="Red"))
R5_FACTS = PhotoFacts(
    camera="Canon EOS R5",
    lens="RF24-70mm F2.8 L IS USM",
    iso=400,
    exposure_s=0.004,
    f_number=2.8,
    focal_mm=35.0,
    has_gps=True,
    colour_profile="sRGB built-in",  # what littlecms calls its own sRGB profile
    rating=3,
    label="Red",
    has_xmp=True,
)


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def small_image() -> Image.Image:
    return Image.linear_gradient("L").resize((64, 48)).convert("RGB")


def save_with_facts(path: Path, exif: Image.Exif, **extra: Any) -> Path:
    """A real file of ``path``'s format carrying ``exif``, an sRGB profile and XMP."""
    img, icc = small_image(), srgb_profile()
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".webp", ".avif"):
        img.save(path, exif=exif, icc_profile=icc, xmp=XMP, **extra)
    elif suffix == ".png":  # Pillow writes PNG XMP only as the iTXt chunk Adobe defined
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP.decode(), zip=False)
        img.save(path, exif=exif, icc_profile=icc, pnginfo=info, **extra)
    elif suffix == ".tif":  # TIFF takes sub-IFDs as nested dicts and XMP as tag 700
        tags: dict[int, Any] = dict(exif)
        tags[EXIF_IFD] = dict(exif.get_ifd(EXIF_IFD))
        tags[GPS_IFD] = dict(exif.get_ifd(GPS_IFD))
        tags[700] = XMP
        img.save(path, tiffinfo=tags, icc_profile=icc, **extra)
    else:
        raise AssertionError(suffix)
    return path


FORMATS = [
    ".jpg",
    ".png",
    ".webp",
    ".tif",
    pytest.param(".avif", marks=pytest.mark.skipif(not features.check("avif"), reason="no AVIF")),
]


@pytest.mark.parametrize("suffix", FORMATS)
def test_read_facts_from_each_format(tmp_path: Path, suffix: str) -> None:
    path = save_with_facts(tmp_path / f"r5{suffix}", make_exif(R5_MAIN, R5_EXIF, PARIS))
    with Image.open(path) as img:
        facts = read_facts(img)  # opened, not loaded: the metadata is in the header
    assert facts == R5_FACTS


def test_read_facts_without_metadata(tmp_path: Path) -> None:
    for name in ("plain.jpg", "plain.png", "plain.gif", "plain.bmp"):
        small_image().save(tmp_path / name)
        with Image.open(tmp_path / name) as img:
            assert read_facts(img) == NO_FACTS, name


def facts_of(tmp_path: Path, exif: Image.Exif, **save: Any) -> PhotoFacts:
    path = tmp_path / "f.jpg"
    small_image().save(path, exif=exif, **save)
    with Image.open(path) as img:
        return read_facts(img)


@pytest.mark.parametrize(
    ("make", "model", "camera"),
    [
        ("Canon", "Canon EOS R5", "Canon EOS R5"),
        ("NIKON CORPORATION", "NIKON D850", "NIKON D850"),
        ("SONY", "ILCE-7M3", "SONY ILCE-7M3"),
        ("FUJIFILM", "X-T4", "FUJIFILM X-T4"),
        ("OLYMPUS IMAGING CORP.  ", "E-M5MarkII", "OLYMPUS E-M5MarkII"),
        (
            "EASTMAN KODAK COMPANY",
            "KODAK DC240 ZOOM DIGITAL CAMERA",
            "KODAK DC240 ZOOM DIGITAL CAMERA",
        ),
        ("Apple", "iPhone 12 Pro", "Apple iPhone 12 Pro"),
        ("Leica Camera AG", "M Monochrom", "Leica M Monochrom"),
        ("samsung", "Galaxy S21 (SAMSUNG)", "Galaxy S21 (SAMSUNG)"),
        (None, "DMC-GH4", "DMC-GH4"),
        ("Panasonic", None, "Panasonic"),
        ("Canon\x00\x00\x00", "Canon EOS 5D\x00\x00", "Canon EOS 5D"),  # NUL-padded ASCII
        ("\x00\x00", "  \x00", None),
    ],
)
def test_camera_names_the_brand_once(
    tmp_path: Path, make: str | None, model: str | None, camera: str | None
) -> None:
    main = {tag: value for tag, value in ((MAKE, make), (MODEL, model)) if value is not None}
    assert facts_of(tmp_path, make_exif(main)).camera == camera


@pytest.mark.parametrize(
    ("exif", "lens"),
    [
        ({LENS_MODEL: "XF23mmF2 R WR", LENS_MAKE: "FUJIFILM"}, "XF23mmF2 R WR"),
        (
            {LENS_MAKE: "Sigma", LENS_SPEC: tuple(IFDRational(v) for v in (24, 70, 2.8, 2.8))},
            "Sigma 24-70mm f/2.8",
        ),
        ({LENS_SPEC: tuple(IFDRational(v) for v in (18, 55, 3.5, 5.6))}, "18-55mm f/3.5-5.6"),
        (
            {LENS_SPEC: (IFDRational(50), IFDRational(50), IFDRational(0, 0), IFDRational(0, 0))},
            "50mm",
        ),
        ({LENS_MODEL: "----", LENS_MAKE: "Samyang"}, "Samyang"),  # placeholder model
        ({LENS_SPEC: (IFDRational(0, 0),) * 4}, None),
        ({LENS_SPEC: (IFDRational(24), IFDRational(70))}, None),  # wrong count
    ],
)
def test_lens(tmp_path: Path, exif: dict[int, Any], lens: str | None) -> None:
    assert facts_of(tmp_path, make_exif(exif=exif)).lens == lens


@pytest.mark.parametrize(
    ("exif", "iso"),
    [
        ({ISO: (200, 400)}, 200),  # PhotographicSensitivity may hold several values
        ({ISO: 65535, ISO_SPEED: 204800}, 204800),  # over a SHORT: the real value is elsewhere
        ({ISO: 65535}, 65535),
        ({ISO: 0}, None),
        ({ISO: -100}, None),
        ({ISO: "400"}, None),
    ],
)
def test_iso(tmp_path: Path, exif: dict[int, Any], iso: int | None) -> None:
    assert facts_of(tmp_path, make_exif(exif=exif)).iso == iso


def test_damaged_numbers_are_dropped_not_raised(tmp_path: Path) -> None:
    exif = {
        EXPOSURE: IFDRational(1, 0),  # zero denominator: Pillow reads NaN
        F_NUMBER: float("nan"),
        FOCAL: float("inf"),
        ISO: 400,
    }
    facts = facts_of(tmp_path, make_exif(exif=exif))
    assert (facts.exposure_s, facts.f_number, facts.focal_mm, facts.iso) == (None, None, None, 400)
    absurd = {EXPOSURE: IFDRational(-1, 250), F_NUMBER: 1e9, FOCAL: "35 mm", ISO: 10**9}
    facts = facts_of(tmp_path, make_exif(exif=absurd))
    assert (facts.exposure_s, facts.f_number, facts.focal_mm, facts.iso) == (None,) * 4
    long_exposure = facts_of(tmp_path, make_exif(exif={EXPOSURE: IFDRational(30, 1)}))
    assert long_exposure.exposure_s == 30.0


def test_huge_and_undecodable_strings(tmp_path: Path) -> None:
    main = {MAKE: "Leica\x00junk after the terminator", MODEL: "M" * 5_000}
    facts = facts_of(tmp_path, make_exif(main, {LENS_MODEL: "Summilux\n\t 50\x07"}))
    assert facts.camera is not None and len(facts.camera) <= 100
    assert facts.camera.startswith("Leica MMM")
    assert facts.lens == "Summilux 50"
    assert clean_text(b"Caf\xe9 \xff") == "Café ÿ"  # not UTF-8: read as Latin-1
    assert clean_text("é".encode() * 300) == "é" * 99 + "…"  # cut inside a character
    assert clean_text(42) is None


@pytest.mark.parametrize(
    ("gps", "has_gps"),
    [
        (PARIS, True),
        ({LAT_REF: "S", LAT: (33.0, 52.0, 8.0)}, False),  # latitude only
        ({LAT: (0.0, 0.0, 0.0), LON: (0.0, 0.0, 0.0)}, False),  # no fix: 0,0
        ({LAT: (0.0, 0.0, 0.0), LON: (2.0, 21.0, 3.0)}, True),  # on the equator
        ({LAT: (IFDRational(1, 0), 0.0, 0.0), LON: (2.0, 21.0, 3.0)}, False),
        ({LAT: (48.0, 51.0), LON: (2.0, 21.0, 3.0)}, False),  # two parts, not three
        ({LAT: 48, LON: 2}, False),  # single numbers, not degrees-minutes-seconds
        ({0: b"\x02\x02\x00\x00"}, False),  # only the version
    ],
)
def test_has_gps(tmp_path: Path, gps: dict[int, Any], has_gps: bool) -> None:
    assert facts_of(tmp_path, make_exif(gps=gps)).has_gps is has_gps


def test_colour_profile(tmp_path: Path) -> None:
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    assert (
        facts_of(tmp_path, make_exif(), icc_profile=lab).colour_profile == "Lab identity built-in"
    )
    garbage = facts_of(tmp_path, make_exif(R5_MAIN), icc_profile=b"not a profile" * 20)
    assert garbage.colour_profile is None
    assert garbage.camera == "Canon EOS R5"  # one bad fact does not lose the others


def test_embedded_xmp_garbage_is_not_xmp(tmp_path: Path) -> None:
    facts = facts_of(tmp_path, make_exif(R5_MAIN), xmp=bytes(range(256)) * 10)
    assert (facts.has_xmp, facts.rating, facts.camera) == (False, None, "Canon EOS R5")
    no_rating = facts_of(tmp_path, make_exif(), xmp=packet("/>"))
    assert (no_rating.has_xmp, no_rating.rating, no_rating.label) == (False, None, None)


@pytest.mark.parametrize(
    ("description", "prefix", "uri", "edited"),
    [
        (' xmp:Rating="3"/>', "xmp", XMP_NS, True),
        (
            ' crs:Exposure2012="+0.50"/>',
            "crs",
            "http://ns.adobe.com/camera-raw-settings/1.0/",
            True,
        ),
        (
            '><xmpMM:History><rdf:Seq><rdf:li stEvt:action="saved"/></rdf:Seq></xmpMM:History>'
            "</rdf:Description>",
            "xmp",
            XMP_NS,
            True,
        ),
        # What a phone embeds (a depth map, an HDR gain map): no editor has been near it.
        (' GCamera:MotionPhoto="1"/>', "GCamera", "http://ns.google.com/photos/1.0/camera/", False),
        (' hdrgm:Version="1.0"/>', "hdrgm", "http://ns.adobe.com/hdr-gain-map/1.0/", False),
    ],
)
def test_only_an_editors_xmp_counts_as_edited(
    tmp_path: Path, description: str, prefix: str, uri: str, edited: bool
) -> None:
    xmp = packet(description, prefix=prefix, uri=uri)
    assert facts_of(tmp_path, make_exif(), xmp=xmp).has_xmp is edited


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the damage it skips
def test_damaged_exif_blocks_never_raise(tmp_path: Path) -> None:
    # Flip bytes inside a real EXIF block (not the image data, so Pillow still opens it).
    good = make_exif(R5_MAIN, R5_EXIF, PARIS).tobytes()
    rng = random.Random(5)
    results = []
    for _ in range(60):
        blob = bytearray(good)
        for _ in range(rng.randint(1, 12)):
            blob[rng.randrange(6, len(blob))] = rng.randrange(256)
        path = tmp_path / "broken.jpg"
        small_image().save(path, exif=bytes(blob), icc_profile=srgb_profile()[:200])
        with Image.open(path) as img:
            results.append(read_facts(img))
    assert all(isinstance(f, PhotoFacts) for f in results)
    assert all(f.colour_profile is None for f in results)  # a truncated profile is no profile
    assert any(f.camera == "Canon EOS R5" for f in results)  # most damage leaves the rest
