"""A chat template is untrusted data: it renders under a budget, and every way it can fail
becomes a WeightsError that names the file the template came from."""

from __future__ import annotations

import json
import threading
import time

import pytest
from tokenizers import Tokenizer, models

from app.weights.chat_template import RenderBudget, TemplateCancelled, render_chat_template
from app.weights.errors import WeightsError
from app.weights.tokenizer import TextTokenizer, tokenizer_from_directory

SOURCE = "model.gguf (metadata 'tokenizer.chat_template')"
MESSAGES = [{"role": "user", "content": "hi"}]
NESTED_LOOPS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


def render(template: str, **options) -> str:
    return render_chat_template(template, SOURCE, messages=MESSAGES, add_generation_prompt=True, **options)


def test_nested_loops_are_refused_within_two_seconds():
    """10^10 iterations: the acceptance bound on a hang (generous: the budget is 1 s)."""
    start = time.monotonic()
    with pytest.raises(WeightsError, match=r"model\.gguf \(metadata 'tokenizer\.chat_template'\): chat template "
                                           r"refused: more than"):
        render(NESTED_LOOPS)
    assert time.monotonic() - start < 2.0


def test_a_loop_over_a_list_that_calls_nothing_still_counts_its_steps():
    template = "{% set r = range(3000)|list %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}"
    with pytest.raises(WeightsError, match=r"more than 100,000 steps"):
        render(template, budget=RenderBudget(steps=100_000, seconds=60))


@pytest.mark.parametrize("template, reason", [
    ("{{ 1/0 }}", r"chat template failed: ZeroDivisionError"),
    ("{{ range(10**9) }}", r"range\(\) of 1,000,000,000 items \(at most 1,000,000\)"),
    ("{{ 'a' * 10**10 }}", r"a repeated string or list of 10,000,000,000 items"),
    ("{{ 'a' * 10000000000 }}", r"a repeated string or list of 10,000,000,000 items"),  # not folded while compiling
    ("{{ 'x' | center(1000000000) }}", r"a filter's result of 1,000,000,000 items"),
    ("{{ 2 ** 100000000 }}", r"more than 4096 bits"),
    ("{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
     r"a concatenated string of 1,048,576 characters"),
    ("{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
     r"a joined string or list of 1,048,576 items"),
    ("{{ '%999999999d' % 1 }}", r"a formatted field of 999,999,999 characters"),
    ("{{ '%*d' % (999999999, 1) }}", r"a formatted field of 999,999,999 characters"),
    ("{{ '{:999999999}'.format(1) }}", r"a formatted field of 999,999,999 characters"),
    ("{{ '{:999999999}'['format'](1) }}", r"a formatted field of 999,999,999 characters"),
    ("{{ 'x'.ljust(999999999) }}", r"a string method's result of 999,999,999 characters"),
    ("{% for i in range(100000) %}{{ 'abcdefghijklmnopqrstuvwxyz' }}{% endfor %}", r"the rendered text of"),
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", r"its macros recurse too deeply"),
    ("{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}", r"more than"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", r"chat template: access to attribute '__class__'"),
    ("{% for %}", r"chat template: Expected an expression"),
])
def test_hostile_templates_are_refused_with_the_source_named(template, reason):
    with pytest.raises(WeightsError, match=r"^model\.gguf \(metadata 'tokenizer\.chat_template'\): .*" + reason):
        render(template)


def test_published_template_idioms_still_render():
    template = ("{{ bos_token }}{% for m in messages %}{{ loop.index }}/{{ loop.length }} {{ m['role'] }}: "
                "{{ m.content | trim }}{% if loop.last %}.{% endif %}{% endfor %}"
                "{% if add_generation_prompt %} > {% endif %}{{ 5000000 | string }} {{ '%5.2f' % 3.14159 }} "
                "{{ '{:>3}'.format('x') ~ 'y' + 'z' }} {{ [1] + [2] }} {{ 7 % 3 }} {{ '%d' % 5000000 }}")
    assert render(template, bos_token="<s>") == "<s>1/1 user: hi. > 5000000  3.14   xyz [1, 2] 1 5000000"


def test_cancel_reaches_into_a_render():
    """The worker's cancel flag is checked by the same hook as the budget."""
    flag = threading.Event()
    threading.Timer(0.05, flag.set).start()
    start = time.monotonic()
    with pytest.raises(TemplateCancelled):
        render(NESTED_LOOPS, cancelled=flag.is_set, budget=RenderBudget(seconds=60))
    assert time.monotonic() - start < 30  # cancelled, not run to its budget


def test_a_tokenizer_names_the_file_its_template_came_from(tmp_path):
    backend = Tokenizer(models.WordLevel({"a": 0, "<unk>": 1}, unk_token="<unk>"))
    backend.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ 1/0 }}"}))
    with pytest.raises(WeightsError, match=r"tokenizer_config\.json \(field 'chat_template'\): chat template failed"):
        tokenizer_from_directory(tmp_path).chat_text("x")
    (tmp_path / "chat_template.jinja").write_text("{{ range(10**9) }}")
    with pytest.raises(WeightsError, match=r"chat_template\.jinja: chat template refused: range\(\)"):
        tokenizer_from_directory(tmp_path).apply_chat_template("x")
    with pytest.raises(WeightsError, match=r"^m\.gguf: chat template refused"):
        TextTokenizer(backend, chat_template="{{ 'a' * 10**10 }}", origin="m.gguf").chat_text("x")
