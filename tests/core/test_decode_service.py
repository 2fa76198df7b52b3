"""DecodeService: real worker processes; a crash or hang costs one image; close leaves none."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from dedup_gui.core.decode_service import (
    CRASHED_DETAIL,
    DecodedImage,
    DecodeKind,
    DecodeRequest,
    DecodeService,
    DecodeServiceClosed,
)
from dedup_gui.core.errors import UnreadableImage
from dedup_gui.core.model import ProblemKind
from dedup_gui.core.thumbnails import make_view_image
from tests.core.format_files import write_dng, write_heic
from tests.core.images import write_photo, write_text
from tests.core.plugins.crashy import CRASH_MAGIC, HANG_MAGIC

PLUGIN = "tests.core.plugins.crashy"
THUMB, VIEW = DecodeKind.THUMBNAIL, DecodeKind.VIEW


def two_colours(width: int = 96, height: int = 64) -> Image.Image:
    """Red left half, blue right half: any turn or mirror moves the colours or the size."""
    img = Image.new("RGB", (width, height), (220, 30, 30))
    img.paste((30, 30, 220), (width // 2, 0, width, height))
    return img


def assert_red_left_blue_right(img: Image.Image | DecodedImage, size: tuple[int, int]) -> None:
    pil = img.to_pil() if isinstance(img, DecodedImage) else img
    assert pil.size == size
    rgb = pil.convert("RGB")
    left, right = rgb.getpixel((size[0] // 8, size[1] // 2)), rgb.getpixel((size[0] * 7 // 8, 5))
    assert isinstance(left, tuple) and isinstance(right, tuple)
    assert left[0] > left[2] + 60, left  # red
    assert right[2] > right[0] + 60, right  # blue


def is_gone(pid: int) -> bool:
    """Neither running nor a zombie: nothing under /proc any more."""
    return not Path(f"/proc/{pid}").exists()


@pytest.fixture
def service() -> Iterator[DecodeService]:
    with DecodeService(processes=2, timeout_s=2.0, plugins=(PLUGIN,)) as svc:
        yield svc


def test_thumbnail_and_view_come_back_upright_and_sized(
    service: DecodeService, tmp_path: Path
) -> None:
    photo = write_photo(tmp_path / "a.jpg", width=256, height=192)
    thumb = service.decode(DecodeRequest(THUMB, photo, 64))
    assert (thumb.mode, thumb.size, len(thumb.data)) == ("RGB", (64, 48), 64 * 48 * 3)
    view = service.decode(DecodeRequest(VIEW, photo, 10_000))
    assert view.size == (256, 192)


def test_big_view_images_come_back_whole(service: DecodeService, tmp_path: Path) -> None:
    # Over the spill size: the pixels travel through a file, which must be gone afterwards.
    path = tmp_path / "big.png"
    picture = two_colours(1600, 1200)
    picture.save(path)
    spill_dir = service._spill_dir
    before = set(spill_dir.glob(f"dedup-gui-{os.getpid()}-*"))
    view = service.decode(DecodeRequest(VIEW, path, 10_000))
    assert view.to_pil().tobytes() == picture.tobytes()
    assert set(spill_dir.glob(f"dedup-gui-{os.getpid()}-*")) == before


def test_a_crashing_decoder_costs_one_image(service: DecodeService, tmp_path: Path) -> None:
    crash = tmp_path / "crash.jpg"
    crash.write_bytes(CRASH_MAGIC + bytes(64))
    good = write_photo(tmp_path / "good.jpg", width=128, height=96)
    assert service.decode(DecodeRequest(THUMB, good, 32)).size == (32, 24)
    first_pids = set(service.pids())
    with pytest.raises(UnreadableImage) as info:
        service.decode(DecodeRequest(THUMB, crash, 32))
    assert (info.value.kind, info.value.detail) == (ProblemKind.CRASHED.value, CRASHED_DETAIL)
    assert service.decode(DecodeRequest(THUMB, good, 32)).size == (32, 24)
    assert service.decode(DecodeRequest(VIEW, good, 64)).size == (64, 48)
    assert all(is_gone(pid) for pid in first_pids - set(service.pids()))


def test_a_hanging_decoder_is_killed_after_the_time_limit(tmp_path: Path) -> None:
    hang = tmp_path / "hang.jpg"
    hang.write_bytes(HANG_MAGIC + bytes(64))
    good = write_photo(tmp_path / "good.jpg", width=128, height=96)
    with DecodeService(processes=1, timeout_s=0.5, plugins=(PLUGIN,)) as service:
        with pytest.raises(UnreadableImage) as info:
            service.decode(DecodeRequest(THUMB, hang, 32))
        assert info.value.kind == ProblemKind.TIMED_OUT.value
        assert "0.5 s" in info.value.detail
        assert service.decode(DecodeRequest(THUMB, good, 32)).size == (32, 24)


def test_bad_files_give_the_plain_reasons(service: DecodeService, tmp_path: Path) -> None:
    with pytest.raises(UnreadableImage) as info:
        service.decode(DecodeRequest(THUMB, write_text(tmp_path / "t.jpg"), 32))
    assert info.value.kind == ProblemKind.NOT_AN_IMAGE.value
    with pytest.raises(UnreadableImage) as info:
        service.decode(DecodeRequest(VIEW, tmp_path / "missing.jpg", 32))
    assert info.value.kind == ProblemKind.VANISHED.value


def test_odd_file_names_cross_the_process_boundary(service: DecodeService, tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9 \xf0\x9f\x93\xb7\n.jpg")  # not UTF-8: a surrogate escape
    path = write_photo(tmp_path / name, width=64, height=48)
    assert service.decode(DecodeRequest(THUMB, path, 32)).size == (32, 24)


@pytest.mark.parametrize("preview", [True, False])
@pytest.mark.parametrize("kind", [THUMB, VIEW])
def test_camera_raw_decodes_upright(
    service: DecodeService, tmp_path: Path, preview: bool, kind: DecodeKind
) -> None:
    raw = write_dng(tmp_path / "IMG_1.dng", two_colours(), preview=preview, orientation=6)
    max_px = 48 if kind is THUMB else 10_000
    size = (48, 32) if kind is THUMB else (96, 64)
    assert_red_left_blue_right(service.decode(DecodeRequest(kind, raw, max_px)), size)


@pytest.mark.parametrize("kind", [THUMB, VIEW])
def test_heic_decodes_upright(service: DecodeService, tmp_path: Path, kind: DecodeKind) -> None:
    pytest.importorskip("pillow_heif")
    heic = write_heic(tmp_path / "a.heic", two_colours(), orientation=8)
    max_px = 48 if kind is THUMB else 10_000
    size = (48, 32) if kind is THUMB else (96, 64)
    assert_red_left_blue_right(service.decode(DecodeRequest(kind, heic, max_px)), size)


def test_view_of_a_raw_uses_a_full_size_preview_or_the_sensor(tmp_path: Path) -> None:
    # In-process: the same function the workers run.
    raw = write_dng(tmp_path / "IMG_2.dng", two_colours(400, 300), preview=True)
    assert_red_left_blue_right(make_view_image(raw, 10_000), (400, 300))
    assert_red_left_blue_right(make_view_image(raw, 200), (200, 150))


def test_many_threads_share_the_processes(service: DecodeService, tmp_path: Path) -> None:
    photos = [write_photo(tmp_path / f"{i}.jpg", width=96, height=64, seed=i) for i in range(8)]
    sizes: list[tuple[int, int]] = []
    lock = threading.Lock()

    def decode_all(part: list[Path]) -> None:
        for path in part:
            size = service.decode(DecodeRequest(THUMB, path, 48)).size
            with lock:
                sizes.append(size)

    threads = [threading.Thread(target=decode_all, args=(photos[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sizes == [(48, 32)] * 8
    assert 1 <= len(service.pids()) <= service.processes


def test_close_stops_every_process_and_wakes_a_caller_on_a_hung_decoder(
    tmp_path: Path,
) -> None:
    hang = tmp_path / "hang.jpg"
    hang.write_bytes(HANG_MAGIC + bytes(64))
    good = write_photo(tmp_path / "good.jpg", width=64, height=48)
    service = DecodeService(processes=2, timeout_s=60.0, plugins=(PLUGIN,))
    service.decode(DecodeRequest(THUMB, good, 32))  # one worker up and idle
    outcome: list[BaseException] = []

    def hang_it() -> None:
        try:
            service.decode(DecodeRequest(THUMB, hang, 32))
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=hang_it)
    caller.start()
    # Whether close() comes before or during the hung decode, the caller must be let go.
    service.close()
    caller.join(timeout=10)
    assert not caller.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], DecodeServiceClosed)
    assert service.pids() == []
    with pytest.raises(DecodeServiceClosed):
        service.decode(DecodeRequest(THUMB, good, 32))
    service.close()  # idempotent


def test_close_leaves_no_child_processes(tmp_path: Path) -> None:
    good = write_photo(tmp_path / "good.jpg", width=64, height=48)
    service = DecodeService(processes=2, plugins=())
    threads = [
        threading.Thread(target=service.decode, args=(DecodeRequest(THUMB, good, 32),))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pids = service.pids()
    assert pids and all(not is_gone(pid) for pid in pids)
    service.close()
    assert all(is_gone(pid) for pid in pids)


def test_nothing_starts_before_the_first_request() -> None:
    with DecodeService() as service:
        assert service.pids() == []
    with pytest.raises(ValueError):
        DecodeService(processes=0)
    with pytest.raises(ValueError):
        DecodeService(timeout_s=0)
