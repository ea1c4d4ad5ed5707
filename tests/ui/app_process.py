"""The desktop app in a process of its own, driven the way a user would, for the tests that
kill it (SIGKILL) and start it again: `python -m tests.ui.app_process SCENARIO ...`.

It starts like `archscope` does (app.ui.app.start_window), with the user's settings and
data wherever XDG_CONFIG_HOME / XDG_DATA_HOME point. The question "Restore unsaved edits?"
is answered Yes and printed, so the test reads what was offered. Each scenario prints one
JSON object a line on stdout as it goes.

  report               print what the start offered back and the document it shows; exit
  edit COUNT GAP_MS    COUNT canvas drops through the undo stack, GAP_MS apart; then idle
  export SNAPSHOT FOLDER STOP
                       open SNAPSHOT, export it into FOLDER, and hang (to be killed) at
                       STOP: "fsync" after the first file is on disk, "rename" after the
                       first file was renamed
"""

from __future__ import annotations

import json
import os
import sys
import threading

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from app.spec.serialize import spec_to_dict
from app.ui.app import _application, start_window

DROPS = ("mla", "sliding")  # alternate: every state differs from the drawn GQA


def say(**fields) -> None:
    print(json.dumps(fields), flush=True)


def answer_yes(offered: list[str]):
    def question(_parent, _title, text, *_args, **_kwargs):
        offered.append(text)
        return QMessageBox.Yes

    return question


def hang(reason: str) -> None:
    say(event="hanging", at=reason)
    threading.Event().wait()


def edit(window, count: int, gap_ms: int) -> None:
    done = [0]

    def one_edit() -> None:
        item = window.canvas.arch_scene.slot_item(0, 0, "mixer")
        refused = window.apply_drop(DROPS[done[0] % 2], item)
        done[0] += 1
        say(event="edited", number=done[0], refused=refused, spec=spec_to_dict(window.document.spec))
        if done[0] < count:
            QTimer.singleShot(gap_ms, one_edit)

    QTimer.singleShot(0, one_edit)


def export(window, snapshot: str, folder: str, stop: str) -> None:
    from app import files

    real_fsync, real_replace = os.fsync, os.replace
    calls = {"fsync": 0, "rename": 0}

    def fsync(handle):
        real_fsync(handle)
        calls["fsync"] += 1
        if stop == "fsync" and calls["fsync"] == 1:
            hang("fsync")

    def replace(source, target):
        real_replace(source, target)
        if str(target).endswith((".json", ".csv")) and not str(target).endswith(files.COMMIT_SUFFIX):
            calls["rename"] += 1
            if stop == "rename" and calls["rename"] == 1:
                hang("rename")

    assert window.open_snapshot(snapshot)
    files.os.fsync, files.os.replace = fsync, replace
    window.export_profile(folder, "run")
    say(event="exported")


def main(argv: list[str]) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = _application()
    offered: list[str] = []
    QMessageBox.question = answer_yes(offered)
    window = start_window()
    app.processEvents()
    say(event="started", offered=offered, modified=window.document.modified,
        spec=spec_to_dict(window.document.spec))
    scenario = argv[0]
    if scenario == "report":
        window.close()  # as the user would: its model thread ends, its layout is saved
        app.processEvents()
        return
    if scenario == "edit":
        edit(window, int(argv[1]), int(argv[2]))
    elif scenario == "export":
        export(window, argv[1], argv[2], argv[3])
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
    app.exec()


if __name__ == "__main__":
    main(sys.argv[1:])
