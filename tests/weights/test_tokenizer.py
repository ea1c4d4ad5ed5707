"""Tokenizers rebuilt from GGUF metadata give transformers' ids on tricky text; chat
templates render as transformers renders them, inside a sandbox; tokenizer.json loads."""

import json
import os

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from app.weights import WeightsError
from app.weights.embedded import embedded_path
from app.weights.gguf_reader import GGUFFile
from app.weights.tokenizer import TextTokenizer, tokenizer_from_directory, tokenizer_from_gguf

transformers = pytest.importorskip("transformers")

MODELS = ["smollm2-135m", "gemma3-270m"]
TRICKY = [
    "Hello world",
    "  two  spaces, three   and a trailing one ",
    "\n\nnew\nlines\r\n\ttabs\t\t and\n\n\n",
    "emoji 😀👍🏽 👩‍👩‍👧 🇫🇷",
    "中文字符 日本語のテキスト 한국어",
    "Ünïcödé façade naïve — “quotes” … ½",
    "def f(x):\n    return x ** 2  # comment\n",
    "numbers 2018, 3.14159 and 1,000,000",
    "<start_of_turn>user\nhi<end_of_turn> <|im_start|>assistant<|im_end|>",
    "   ",
    "",
]


@pytest.fixture(scope="module")
def pairs():
    """(ours, transformers') tokenizer for each embedded model's GGUF."""
    result = {}
    for name in MODELS:
        path = embedded_path(name)
        ours = tokenizer_from_gguf(GGUFFile(path).metadata, str(path))
        folder, file = os.path.split(path)
        result[name] = ours, transformers.AutoTokenizer.from_pretrained(folder, gguf_file=file)
    return result


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_ids_match_transformers_gguf_tokenizer(pairs, name):
    ours, theirs = pairs[name]
    for text in TRICKY:
        mine = ours.encode(text, add_special_tokens=False)
        assert mine == theirs(text, add_special_tokens=False).input_ids, text
        assert ours.decode(mine) == theirs.decode(mine), text


@pytest.mark.parametrize("name", MODELS)
def test_text_survives_a_round_trip(pairs, name):
    ours, _ = pairs[name]
    for text in TRICKY:
        assert ours.decode(ours.encode(text, add_special_tokens=False)) == text


def test_gemma_adds_its_bos_and_smollm2_does_not(pairs):
    """tokenizer.ggml.add_bos_token: Gemma was trained with <bos> first, SmolLM2 without."""
    gemma, _ = pairs["gemma3-270m"]
    smollm, _ = pairs["smollm2-135m"]
    assert gemma.encode("Hi")[0] == gemma.bos_token_id == 2
    assert gemma.encode("Hi", add_special_tokens=False)[0] != 2
    assert smollm.encode("Hi") == smollm.encode("Hi", add_special_tokens=False)
    assert gemma.eos_token_ids == (1,)
    assert 2 in smollm.eos_token_ids  # <|im_end|>


def test_chat_template_renders_as_transformers_does(pairs):
    ours, theirs = pairs["smollm2-135m"]
    conversation = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"},
                    {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Name a colour."}]
    expected = theirs.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    assert ours.chat_text(conversation) == expected
    assert ours.apply_chat_template(conversation) == ours.encode(expected, add_special_tokens=False)
    # a bare prompt is one user message, under the template's default system prompt
    assert ours.chat_text("Hi").startswith("<|im_start|>system\n")
    assert ours.chat_text("Hi").endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")


def test_a_model_without_chat_template_says_so(pairs):
    gemma, _ = pairs["gemma3-270m"]
    with pytest.raises(WeightsError, match="has no chat template"):
        gemma.chat_text("Hi")


def test_templates_run_in_a_sandbox():
    backend = Tokenizer(models.WordLevel({"a": 0, "<unk>": 1}, unk_token="<unk>"))
    hostile = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(WeightsError, match="chat template"):
        TextTokenizer(backend, chat_template=hostile).chat_text("x")
    failing = "{{ raise_exception('only user turns') }}"
    with pytest.raises(WeightsError, match="only user turns"):
        TextTokenizer(backend, chat_template=failing).chat_text("x")


def test_tokenizer_json_directory(tmp_path):
    backend = Tokenizer(models.WordLevel({"<s>": 0, "</s>": 1, "hello": 2, "world": 3, "<unk>": 4},
                                         unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.add_special_tokens(["<s>", "</s>"])
    backend.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": {"content": "<s>"}, "eos_token": "</s>",
        "chat_template": "{{ bos_token }}{% for m in messages %}{{ m['content'] }} {% endfor %}"}))
    tokenizer = tokenizer_from_directory(tmp_path)
    assert tokenizer.encode("hello world") == [2, 3]
    assert tokenizer.eos_token_ids == (1,)
    assert tokenizer.apply_chat_template("hello") == [0, 2]
    assert tokenizer_from_directory(tmp_path / "missing") is None
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(WeightsError, match=r"tokenizer\.json: not a readable tokenizer"):
        tokenizer_from_directory(tmp_path)
