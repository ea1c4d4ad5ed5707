"""The Qt binding leaves Python's None/True/False reference counts alone. PySide6 6.12.0
under Python 3.11 took one reference away per call that returned them, and the app
aborted ("deallocating None") a few seconds into a live dashboard; pyproject pins it out."""

import sys

from PySide6.QtWidgets import QCheckBox, QLabel


def test_calls_returning_none_or_bool_keep_the_singletons_reference_counts(qtbot):
    label, box = QLabel(), QCheckBox()
    qtbot.addWidget(label)
    qtbot.addWidget(box)
    before = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(2000):
        label.setText("x")
        box.isChecked()
    after = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    assert all(abs(a - b) < 100 for a, b in zip(after, before)), (before, after)
