"""The window for photographers: kind chips and the "Show:" filter, facts on member cards and in
the compare view, and the photographers' preferences."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from dedup_gui.core.decisions import Decisions, KeepRule, Mark
from dedup_gui.core.model import (
    NO_FACTS,
    Group,
    GroupKind,
    GroupMember,
    ImageRecord,
    PhotoFacts,
    Relation,
    Turn,
)
from dedup_gui.ui import models
from dedup_gui.ui.compare_dialog import CompareDialog
from dedup_gui.ui.delegates import MemberDelegate
from dedup_gui.ui.group_filter import GroupFilterModel
from dedup_gui.ui.models import GroupListModel, GroupRole, MemberModel, MemberRole
from dedup_gui.ui.review_panel import ReviewPanel
from dedup_gui.ui.settings import Settings
from dedup_gui.ui.settings_dialog import SettingsDialog
from dedup_gui.ui.thumbnail_loader import SynchronousPool, ThumbnailLoader

R5 = PhotoFacts(
    camera="Canon EOS R5",
    lens="RF24-105mm F4 L IS USM",
    iso=400,
    exposure_s=1 / 250,
    f_number=4.0,
    focal_mm=50.0,
    has_gps=True,
    colour_profile="Display P3",
    rating=4,
    label="Red",
    has_xmp=True,
)
PHONE = PhotoFacts(camera="iPhone 15 Pro", iso=50, exposure_s=1 / 120, colour_profile="Display P3")


def rec(
    path: str,
    *,
    size: int = 1000,
    wh: tuple[int, int] = (100, 80),
    fmt: str = "JPEG",
    date: str | None = "2024-05-01 10:00:00",
    facts: PhotoFacts = NO_FACTS,
    content: bytes | None = None,
) -> ImageRecord:
    content = content or hashlib.blake2b(os.fsencode(path), digest_size=16).digest()
    return ImageRecord(Path(path), size, 1, content, bytes(8), *wh, fmt, date, facts)


def photographer_groups() -> list[Group]:
    """Similar (a burst), exact copies, and a RAW+JPEG pair with a turned export."""
    burst = Group(
        (
            GroupMember(rec("/s/DSC_1.jpg", date="2024-05-01 10:00:01"), Relation.REFERENCE, 0),
            GroupMember(rec("/s/DSC_2.jpg", date="2024-05-01 10:00:02"), Relation.NEAR, 14),
        )
    )
    same = hashlib.blake2b(b"beach", digest_size=16).digest()
    exact = Group(
        (
            GroupMember(rec("/e/beach.jpg", content=same), Relation.REFERENCE, 0),
            GroupMember(rec("/backup/beach.jpg", content=same), Relation.EXACT, 0),
        )
    )
    raw, jpeg = Path("/shoot/IMG_1.CR2"), Path("/shoot/IMG_1.JPG")
    pair = Group(
        (
            GroupMember(
                rec(str(raw), size=9000, fmt="CR2", facts=R5), Relation.REFERENCE, 0, partner=jpeg
            ),
            GroupMember(rec(str(jpeg), size=3000, facts=R5), Relation.NEAR, 2, partner=raw),
            GroupMember(
                rec("/export/IMG_1 turned.jpg", size=800, wh=(80, 100), facts=PHONE),
                Relation.NEAR,
                2,
                Turn.ROTATED_90,
            ),
        )
    )
    return [burst, exact, pair]


@pytest.fixture
def loader() -> ThumbnailLoader:
    return ThumbnailLoader(pool=SynchronousPool(deferred=True))  # placeholders only


@pytest.fixture
def panel(qtbot: QtBot, loader: ThumbnailLoader) -> ReviewPanel:
    decisions = Decisions()
    groups, members = GroupListModel(decisions, loader), MemberModel(decisions, loader)
    panel = ReviewPanel(groups, members)
    qtbot.addWidget(panel.group_column)
    qtbot.addWidget(panel)
    groups.set_groups(photographer_groups())
    return panel


def _combo_texts(panel: ReviewPanel) -> list[str]:
    combo = panel.filter_bar.combo
    return [combo.itemText(i) for i in range(combo.count())]


def test_kind_chips_and_filter_counts(panel: ReviewPanel) -> None:
    view_model = panel.group_view.model()
    labels = [view_model.index(r, 0).data(GroupRole.KIND_LABEL) for r in range(3)]
    assert labels == ["Similar", "Exact", "Same picture"]
    assert _combo_texts(panel) == [
        "All (3)",
        "Exact copies (1)",
        "Same picture (1)",
        "Similar (1)",
    ]
    panel._groups.remove_paths({Path("/backup/beach.jpg")})  # the exact group is done
    assert _combo_texts(panel)[:2] == ["All (2)", "Exact copies (0)"]


def test_filter_keeps_marks_selection_and_keyboard(qtbot: QtBot, panel: ReviewPanel) -> None:
    decisions = panel._members._decisions
    panel.select_group(2)  # the pair group
    assert panel.current_group() is panel._groups.group_at(2)
    panel.set_mark(2, Mark.TRASH)
    turned = Path("/export/IMG_1 turned.jpg")

    panel.set_kind_filter(GroupKind.SAME_PICTURE)  # the current group is still shown
    assert panel.group_filter.rowCount() == 1
    assert panel.current_group() is panel._groups.group_at(2)
    assert decisions.mark_of(turned) is Mark.TRASH

    panel.filter_bar.set_kind(GroupKind.EXACT)  # as a click in the combo box does
    assert panel.group_filter.rowCount() == 1
    current = panel.current_group()
    assert current is not None and current.reference.record.path == Path("/e/beach.jpg")
    assert decisions.mark_of(turned) is Mark.TRASH  # filtering changes no mark

    panel.set_kind_filter(None)
    assert panel.group_filter.rowCount() == 3
    assert panel.current_group() is current  # still the exact group, now at row 1
    qtbot.keyClick(panel.group_view, Qt.Key.Key_Down)
    assert panel.current_group() is panel._groups.group_at(2)
    qtbot.keyClick(panel.group_view, Qt.Key.Key_Right)  # arrows move between photos
    assert panel.current_member_row() == 1

    panel.set_kind_filter(GroupKind.SIMILAR)
    panel.select_group(1)  # hidden by the filter: every kind is shown again
    assert panel.filter_bar.kind() is None
    assert panel.current_group() is panel._groups.group_at(1)


def test_filter_model_contract(qtmodeltester: ModelTester, loader: ThumbnailLoader) -> None:
    groups = GroupListModel(Decisions(), loader)
    proxy = GroupFilterModel(groups)
    groups.set_groups(photographer_groups())
    proxy.set_kind(GroupKind.SIMILAR)
    qtmodeltester.check(proxy)
    assert [proxy.source_row(r) for r in range(proxy.rowCount())] == [0]
    assert proxy.row_of_source(1) == -1


def test_cards_carry_facts_turn_and_pair(loader: ThumbnailLoader) -> None:
    model = MemberModel(Decisions(), loader)
    model.set_group(photographer_groups()[2])

    def lines(row: int) -> list[list[tuple[str, bool]]]:
        return [list(line) for line in model.index(row).data(MemberRole.FACT_LINES)]

    sep = (" · ", False)
    assert lines(0) == [
        [("Canon EOS R5", False), sep, ("RF24-105mm F4 L IS USM", False)],
        [("1/250 s · f/4 · ISO 400 · 50 mm", False)],
        [("GPS", False), sep, ("Display P3", False), sep, ("★★★★☆ · Red", False)],
    ]
    assert lines(1) == lines(0)  # the JPEG matches its RAW: nothing stands out
    # The export lost the lens, GPS and rating: what differs from the best copy stands out.
    assert lines(2) == [
        [("iPhone 15 Pro", True)],
        [("1/120 s · ISO 50", True)],
        [("no GPS", True), sep, ("Display P3", False)],
    ]
    assert model.index(2).data(MemberRole.TURN_TEXT) == "rotated 90 degrees clockwise"
    assert model.index(0).data(MemberRole.PARTNER_TEXT) == "IMG_1.JPG"
    assert model.index(1).data(MemberRole.PARTNER_TEXT) == "IMG_1.CR2"
    assert model.index(2).data(MemberRole.PARTNER_TEXT) is None
    assert model.index(0).data(MemberRole.NOTE_LINES) == (
        (models.NOTE_TURN, None),
        (models.NOTE_PAIR, "IMG_1.JPG"),
        (models.NOTE_LINK, None),
    )
    assert model.index(0).data(MemberRole.CARD_LINES) == 5 + 3 + 3
    tooltip = model.index(0).data(Qt.ItemDataRole.ToolTipRole).splitlines()
    assert tooltip[1] == "Canon EOS R5 · RF24-105mm F4 L IS USM"

    model.set_group(photographer_groups()[1])  # no facts, no turn, no pair: a compact card
    assert model.index(0).data(MemberRole.FACT_LINES) == ()
    assert model.index(0).data(MemberRole.CARD_LINES) == 5 + 1


def test_marking_a_raw_repaints_its_jpeg(loader: ThumbnailLoader) -> None:
    decisions = Decisions()
    group = photographer_groups()[2]
    decisions.apply_rule([group])  # learns the pair
    model = MemberModel(decisions, loader)
    model.set_group(group)
    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(top.row()))
    assert model.setData(model.index(0), Mark.TRASH, MemberRole.MARK)
    assert sorted(changed) == [0, 1]
    assert decisions.mark_of(Path("/shoot/IMG_1.JPG")) is Mark.TRASH


def _paint(model: MemberModel, row: int, width: int) -> tuple[QImage, QRect]:
    """The card painted in a white image 20 px larger on each side than its item rect."""
    option = QStyleOptionViewItem()
    option.font = QApplication.font()
    option.palette = QApplication.palette()
    size = MemberDelegate().sizeHint(option, model.index(row))
    option.rect = QRect(20, 20, min(width, size.width()), size.height())
    image = QImage(size.width() + 40, size.height() + 40, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    MemberDelegate().paint(painter, option, model.index(row))
    painter.end()
    return image, QRect(option.rect)


def test_long_camera_names_stay_inside_the_card(loader: ThumbnailLoader) -> None:
    long = PhotoFacts(
        camera="Hasselblad X2D 100C Medium Format Mirrorless Camera Body Edition",
        lens="XCD 3,5/30 mm Ultra Wide Aspherical Lens With A Very Long Name",
        colour_profile="ProPhoto RGB with a needlessly long ICC description text",
    )
    group = Group(
        (
            GroupMember(rec("/a/" + "x" * 120 + ".jpg", facts=long), Relation.REFERENCE, 0),
            GroupMember(rec("/b/y.jpg", facts=long), Relation.NEAR, 2, Turn.MIRRORED_ROTATED_270),
        )
    )
    model = MemberModel(Decisions(), loader)
    model.set_group(group)
    for row in (0, 1):
        image, rect = _paint(model, row, 10_000)
        outside = [
            (x, y)
            for y in range(image.height())
            for x in range(image.width())
            if not rect.contains(x, y) and image.pixelColor(x, y) != QColor("white")
        ]
        assert outside == [], f"card {row} paints outside its rect"
        bottom_text = rect.bottom() - 14  # the last lines are drawn: the card has room
        assert any(
            image.pixelColor(x, y) != image.pixelColor(rect.center().x(), rect.bottom() - 4)
            for y in range(bottom_text - 40, bottom_text)
            for x in range(rect.left() + 12, rect.left() + 60)
        )


def test_compare_view_shows_and_highlights_facts(qtbot: QtBot) -> None:
    group = photographer_groups()[2]
    dialog = CompareDialog(group, 0, 2)
    qtbot.addWidget(dialog)
    shown = dialog.shown_facts()
    for fact in ("Camera", "Lens", "Exposure", "GPS", "Rating", "Turned", "RAW+JPEG pair"):
        assert fact in shown
    assert {"Camera", "Lens", "Exposure", "GPS", "Rating", "Turned"} <= set(
        dialog.differing_facts()
    )
    assert "Colour profile" not in dialog.differing_facts()  # both Display P3

    plain = photographer_groups()[1]  # no photo facts: no empty camera or GPS rows
    dialog = CompareDialog(plain, 0, 1)
    qtbot.addWidget(dialog)
    assert not {"Camera", "GPS", "Turned", "RAW+JPEG pair"} & set(dialog.shown_facts())


def test_preferences_round_trip_into_scan_request_and_keep_rule(
    qtbot: QtBot, tmp_path: Path
) -> None:
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    dialog = SettingsDialog(settings, tmp_path / "db.sqlite3")
    qtbot.addWidget(dialog)
    assert dialog.match_turned.isChecked() and not dialog.pairs_as_duplicates.isChecked()
    assert dialog.prefer_resolution.isChecked()
    dialog.match_turned.setChecked(False)
    dialog.pairs_as_duplicates.setChecked(True)
    dialog.prefer_raw.setChecked(True)
    dialog.prefer_edited.setChecked(True)
    assert dialog.add_preferred_folder(tmp_path / "best")
    assert dialog.add_preferred_folder(tmp_path / "gone")
    assert not dialog.add_preferred_folder(tmp_path / "best")  # listed once
    dialog.preferred.item(1).setSelected(True)
    dialog.remove_selected_folders()
    dialog.accept()

    request = settings.scan_request([])
    assert (request.match_turned, request.pairs_as_duplicates) == (False, True)
    assert settings.keep_rule([]) == KeepRule(
        preferred_folders=(tmp_path / "best",),
        prefer_raw=True,
        prefer_edited=True,
        prefer_resolution=True,
        pairs_as_duplicates=True,
    )
    again = SettingsDialog(settings, tmp_path / "db.sqlite3")
    qtbot.addWidget(again)
    assert again.preferred_folders() == [tmp_path / "best"]
    assert not again.match_turned.isChecked()
