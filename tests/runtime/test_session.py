"""Session runs: sampling options, cancellation between layers, export atomicity."""

import pytest
import torch

from app.files import write_atomic
from app.runtime.generate import Sampling, pick_next
from app.runtime.probe import Cancelled
from app.runtime.session import RunConfig, Session


@pytest.fixture(scope="module")
def session():
    return Session.from_arch("qwen3-0.6b", "explore", device="cpu")


def test_greedy_runs_are_reproducible_and_sampled_runs_follow_the_seed(session):
    greedy = [s.tokens for s in session.run(RunConfig(max_new_tokens=5, probe=False)).steps]
    assert greedy == [s.tokens for s in session.run(RunConfig(max_new_tokens=5)).steps]
    sampled = RunConfig(max_new_tokens=5, sampling=Sampling(temperature=1.0, top_k=50, top_p=0.9, seed=7))
    assert [s.tokens for s in session.run(sampled).steps] == [s.tokens for s in session.run(sampled).steps]


def test_top_p_keeps_only_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    picks = {int(pick_next(logits, Sampling(temperature=1.0, top_p=0.7), torch.Generator().manual_seed(i)))
             for i in range(200)}
    assert picks == {0, 1}


def test_cancel_stops_between_layers_and_the_session_runs_again(session):
    marks = []

    def cancelled():
        marks.append(1)
        return len(marks) > 3  # cancel inside the first step, after a few layers

    with pytest.raises(Cancelled):
        session.run(RunConfig(max_new_tokens=50), cancelled=cancelled)
    assert len(marks) == 4  # checked at every layer start, stopped at once
    assert len(session.run(RunConfig(max_new_tokens=3)).steps) == 3


def test_atomic_write_leaves_the_old_file_when_rendering_fails(tmp_path):
    target = tmp_path / "snapshot.json"
    target.write_text("old")

    with pytest.raises(TypeError):
        write_atomic(target, 123)  # not text: the write fails midway
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_cancel_reaches_into_a_hostile_chat_template_and_its_errors_name_it(session):
    """--chat renders the checkpoint's template: a cancel stops a runaway render as it stops
    a run, and a failing template is an error naming its file."""
    from tokenizers import Tokenizer, models

    from app.weights.errors import WeightsError
    from app.weights.tokenizer import TextTokenizer

    backend = Tokenizer(models.WordLevel({"a": 0, "<unk>": 1}, unk_token="<unk>"))
    nested = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    session.tokenizer = TextTokenizer(backend, chat_template=nested, origin="hostile.gguf")
    try:
        looks = []
        with pytest.raises(Cancelled):
            session.run(RunConfig(prompt="a", chat=True, max_new_tokens=1),
                        cancelled=lambda: looks.append(1) or len(looks) > 1000)
        session.tokenizer = TextTokenizer(backend, chat_template="{{ 1/0 }}", origin="hostile.gguf")
        with pytest.raises(WeightsError, match=r"^hostile\.gguf: chat template failed: ZeroDivisionError"):
            session.run(RunConfig(prompt="a", chat=True, max_new_tokens=1))
    finally:
        session.tokenizer = None
