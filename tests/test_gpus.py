"""The GPU list comes from NVML, installed with the app itself (not an extra `make run`
never installs), and is simply empty where there is no NVIDIA driver."""

from importlib.metadata import requires

from app.gpus import nvidia_gpus


def test_nvml_is_a_dependency_of_the_app_itself():
    core = [requirement for requirement in requires("archscope") if "extra ==" not in requirement]
    assert any(requirement.startswith("nvidia-ml-py") for requirement in core)


def test_without_a_driver_the_list_is_empty_not_an_error():
    import pynvml  # the dependency above, importable on any machine

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        assert nvidia_gpus() == []
    else:  # a machine with a driver: every GPU named, with its memory
        pynvml.nvmlShutdown()
        assert all(name and memory > 0 for name, memory in nvidia_gpus())
