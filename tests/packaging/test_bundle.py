"""The built bundle dist/ArchScope/ (`make bundle`) works on its own: no Python environment,
no network, no display; and it carries nothing it should not. Run by `make test-bundle`."""

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from app import __version__

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "ArchScope"
EXECUTABLE = BUNDLE / "ArchScope"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.bundle,
    pytest.mark.skipif(not EXECUTABLE.is_file(), reason="no bundle at dist/ArchScope: build it with `make bundle`"),
]


def bare_environment(home: Path) -> dict:
    """What a user's shell might have: system PATH only (no .venv, no PYTHONPATH), a fresh
    HOME and cache, no display, no network for the Hub."""
    keep = {key: os.environ[key] for key in ("LANG", "LC_ALL", "TMPDIR") if key in os.environ}
    return keep | {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
                   "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}


def test_selftest_passes_without_the_development_environment(tmp_path):
    env = bare_environment(tmp_path)
    assert ".venv" not in env["PATH"] and "VIRTUAL_ENV" not in env and "PYTHONPATH" not in env
    result = subprocess.run([str(EXECUTABLE), "--selftest"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=900)
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("archscope selftest: ok:")
    assert not (tmp_path / ".cache" / "archscope").exists()  # the model came from the bundle, not assembled


def test_headless_commands_run_from_the_bundle(tmp_path):
    env = bare_environment(tmp_path)
    version = subprocess.run([str(EXECUTABLE), "--version"], env=env, capture_output=True, text=True, timeout=300)
    assert version.stdout.strip() == f"archscope {__version__}"
    show = subprocess.run([str(EXECUTABLE), "show", "gemma3-270m"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert show.returncode == 0 and "Gemma 3" in show.stdout, show.stderr


def bundle_files() -> list[Path]:
    return [path.relative_to(BUNDLE) for path in BUNDLE.rglob("*") if path.is_file()]


def test_the_bundle_carries_the_app_qt_and_a_real_model():
    files = {path.as_posix() for path in bundle_files()}
    internal = "_internal/"
    assert any(name.startswith(internal + "PySide6/Qt/plugins/platforms/libqoffscreen") for name in files)
    assert any(name.startswith(internal + "PySide6/Qt/plugins/platforms/libqxcb") for name in files)
    assert internal + "app/resources/icons/archscope-256.png" in files
    assert any(name.startswith(internal + "models/gemma3-270m/") and name.endswith(".gguf") for name in files)
    assert {"archscope.desktop", "archscope.png", "install-desktop.sh"} <= files


def test_no_tests_no_pip_caches_no_cuda_libraries():
    files = bundle_files()
    names = [path.as_posix() for path in files]
    tests = [n for n in names if any(part in ("tests", "test") for part in Path(n).parts[:-1])
             or Path(n).name.startswith("test_") and n.endswith((".py", ".pyc"))]
    assert not tests, tests[:10]
    dev_only = [n for n in names if Path(n).parts[1:2] and Path(n).parts[1] in (
        "pytest", "_pytest", "hypothesis", "transformers", "accelerate", "jsonschema", "pip", "pytestqt")]
    assert not dev_only, dev_only[:10]
    assert not [n for n in names if "/.cache/" in n or "pip-" in Path(n).name or Path(n).suffix == ".whl"]
    cuda = [n for n in names if Path(n).name.startswith(("libcuda", "libcudart", "libcublas", "libcudnn", "libnccl",
                                                          "libcufft", "libcusparse", "libnvrtc", "libnvJitLink",
                                                          "libtorch_cuda", "libc10_cuda"))
            or "/nvidia/" in n]
    if cpu_build():
        assert not cuda, cuda[:10]


def cpu_build() -> bool:
    """Whether the bundled torch is a CPU build (its version.py says cuda = None)."""
    version = (BUNDLE / "_internal" / "torch" / "version.py").read_text()
    return any(line.startswith("cuda") and line.rstrip().endswith("= None") for line in version.splitlines())


def test_the_archive_holds_the_bundle():
    archive = ROOT / "dist" / f"ArchScope-{__version__}-linux-{os.uname().machine}.tar.gz"
    assert archive.is_file()
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "ArchScope/ArchScope" in names
    assert len([n for n in names if not n.endswith("/")]) >= len(bundle_files())
