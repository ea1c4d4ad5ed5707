"""app/spec is pure Python: the catalog and its analysis load without torch or Qt."""

import subprocess
import sys


def test_spec_imports_neither_torch_nor_qt():
    code = (
        "import sys; from app.spec import catalog; from app.spec.analysis import analyze; "
        "import app.spec.hf, app.spec.summary, app.cli; "
        "[analyze(catalog.get(n)) for n in catalog.names()]; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph', 'transformers')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
