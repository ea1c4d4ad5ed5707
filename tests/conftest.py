import os
import shutil
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# No test reads or writes the user's saved roofs (app/runtime/roofs_file.py): the session
# gets a configuration folder of its own, shared by its tests, so runs calibrate once.
os.environ["ARCHSCOPE_CONFIG_DIR"] = tempfile.mkdtemp(prefix="archscope-test-config-")


def pytest_sessionstart(session):
    """Our CPU kernels (app/model/kernels) loaded before any test, as a run loads them: which
    attention a decode step uses must not depend on which test happened to load them first.
    Where they cannot be built, every test runs on torch's own ops."""
    from app.model import cpu_kernels

    cpu_kernels.unavailable()


def pytest_sessionfinish(session, exitstatus):
    """The configuration folder goes with the session (each run of the suite left one in /tmp)."""
    shutil.rmtree(os.environ["ARCHSCOPE_CONFIG_DIR"], ignore_errors=True)
