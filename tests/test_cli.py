"""The headless commands a user types."""

import json
import os
import subprocess
import sys

from app.cli import main
from app.spec import catalog
from app.spec.serialize import spec_to_json


def test_catalog_table_lists_every_entry(capsys):
    assert main(["catalog"]) == 0
    out = capsys.readouterr().out
    for name in catalog.names():
        assert name in out
    assert "KV @128k" in out
    # a model with no attention layer has no heads to show, not "0/0"
    xlstm = next(line for line in out.splitlines() if line.startswith("xlstm-7b"))
    assert "0/0" not in xlstm and " - " in xlstm


def test_catalog_json_has_the_figures(capsys):
    assert main(["catalog", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == catalog.names()
    llama = next(row for row in rows if row["name"] == "llama3-8b")
    assert llama["total_params"] == 8_030_261_248
    assert llama["kv_bytes_per_token"] == 32 * 8 * 128 * 2 * 2  # layers x kv heads x dim x (k, v) x bf16
    assert llama["kv_bytes_at_128k"] == 131_072 * llama["kv_bytes_per_token"]


def test_show_prints_a_row_per_layer(capsys):
    assert main(["show", "llama3-8b", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["layers"]) == 32
    assert shown["spec"]["schema"] == "archscope.spec/1"


def test_show_reads_a_spec_file_and_a_config_file(tmp_path, capsys):
    spec_file = tmp_path / "mine.json"
    spec_file.write_text(spec_to_json(catalog.get("gpt2-small", "explore")))
    assert main(["show", str(spec_file)]) == 0
    config_dir = tmp_path / "tiny-llama"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(json.dumps({
        "model_type": "llama", "vocab_size": 1000, "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}))
    assert main(["show", str(config_dir / "config.json")]) == 0
    assert "tiny-llama" in capsys.readouterr().out


def test_unknown_name_is_a_clear_error(capsys):
    assert main(["show", "llama9"]) == 2
    assert "no catalog entry 'llama9'" in capsys.readouterr().err


def test_python_dash_m_app_runs():
    result = subprocess.run([sys.executable, "-m", "app", "catalog", "--json"], capture_output=True, text=True,
                            check=True)
    assert json.loads(result.stdout)


def test_a_display_qt_cannot_use_is_reported_not_fatal(monkeypatch):
    import app.cli as cli

    # A display whose server is gone: the check runs in a child, so this process survives.
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":97")
    assert cli.qt_problem().startswith("Qt cannot open a window here")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert cli.qt_problem() == ""


QT_WITHOUT_ICCCM = """\
qt.core.library: "/venv/PySide6/Qt/plugins/platforms/libqxcb.so" cannot load: Cannot load library \
/venv/PySide6/Qt/plugins/platforms/libqxcb.so: (libxcb-icccm.so.4: cannot open shared object file: No such file or directory)
qt.core.plugin.loader: QLibraryPrivate::loadPlugin failed on "/venv/PySide6/Qt/plugins/platforms/libqxcb.so" : \
"Cannot load library libqxcb.so: (libxcb-icccm.so.4: cannot open shared object file: No such file or directory)"
qt.qpa.plugin: Could not load the Qt platform plugin "xcb" in "" even though it was found.
This application failed to start because no Qt platform plugin could be initialized.

Available platform plugins are: eglfs, minimal, offscreen, vnc, xcb.
"""


def test_the_reason_names_the_library_qt_could_not_load_not_its_last_line():
    from app.cli import qt_failure_reason

    assert qt_failure_reason(QT_WITHOUT_ICCCM) == (" (missing libxcb-icccm.so.4: install the packages that "
                                                   "provide them)")
    cursor = "qt.qpa.plugin: From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt xcb platform plugin.\n" \
             "Available platform plugins are: xcb."
    assert qt_failure_reason(cursor) == (" (qt.qpa.plugin: From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to "
                                         "load the Qt xcb platform plugin.)")
    assert qt_failure_reason("") == ""


def test_profile_sets_the_thread_count_and_says_so(tmp_path, capsys):
    import torch

    before = torch.get_num_threads()
    try:
        assert main(["profile", "--arch", "smollm2-135m", "--max-new-tokens", "3", "--device", "cpu",
                     "--threads", "1", "--out", str(tmp_path / "run.json")]) == 0
    finally:
        torch.set_num_threads(before)
    out = capsys.readouterr().out
    snapshot = json.loads((tmp_path / "run.json").read_text())
    assert snapshot["run"]["threads"] == 1 and "(float32, 1 thread)" in out
    assert "explore scale: " in out and "of step" in out


def test_a_run_the_model_ends_at_once_says_so_and_ignore_eos_runs_every_step(tmp_path, capsys):
    # SmolLM2-135M answers this prompt with its end-of-text token straight after the prefill.
    argv = ["profile", "--model", "embedded:smollm2-135m", "--prompt", "Write a short story about a lighthouse keeper.",
            "--max-new-tokens", "3", "--device", "cpu", "--out", str(tmp_path / "run.json")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "no decode step ran: the model ended its text after the prefill (--ignore-eos runs every step)" in out
    assert "tokens/s" not in out
    assert main(argv + ["--ignore-eos"]) == 0
    out = capsys.readouterr().out
    snapshot = json.loads((tmp_path / "run.json").read_text())
    assert snapshot["run"]["stop_at_eos"] is False and len(snapshot["steps"]) == 3
    assert f"decode {snapshot['summary']['decode_tokens_per_s']:.1f} tokens/s" in out


def test_a_listing_whose_reader_has_gone_ends_quietly():
    """`archscope show gemma3-1b | head -1` where head has exited before the listing is
    written: no error, exit 0. (The reader's end is closed first, so every write fails.)"""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        command = subprocess.run([sys.executable, "-m", "app", "show", "gemma3-1b"], stdout=write_end,
                                 stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert command.returncode == 0 and command.stderr == ""
