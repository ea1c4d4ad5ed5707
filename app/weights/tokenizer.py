"""Tokenizers for real checkpoints: from a `tokenizer.json`, or rebuilt from GGUF metadata.

A GGUF file carries its vocabulary as metadata under llama.cpp's names. Two kinds cover
the embedded models: byte-level BPE ("gpt2": tokens + merges; SmolLM2, Llama 3, Qwen) and
SentencePiece-style BPE ("llama": tokens + scores, byte fallback; Gemma). Both become a
`tokenizers.Tokenizer`. The checkpoint's chat template (Jinja) is rendered in a sandbox
with a budget (chat_template.py): a template is data from the file, never trusted code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

from .chat_template import render_chat_template
from .errors import WeightsError

# llama.cpp's token types (tokenizer.ggml.token_type)
CONTROL, USER_DEFINED = 3, 4
SPIECE_SPACE = "\u2581"  # SentencePiece writes a space as "▁"

# How a byte-level vocabulary splits text before merging, by tokenizer.ggml.pre. GPT-2's
# own split (ByteLevel's built-in regex) is the default; these are the published ones
# that differ (the regexes of the models' tokenizer.json files).
_LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
PRE_TOKENIZER_SPLITS = {"llama3": _LLAMA3_SPLIT, "llama-bpe": _LLAMA3_SPLIT, "llama-v3": _LLAMA3_SPLIT,
                        "qwen2": _QWEN2_SPLIT}
Message = dict[str, str]


class TextTokenizer:
    """text <-> token ids, special token ids, and the checkpoint's chat formatting."""

    def __init__(self, backend: Tokenizer, *, bos_token: str | None = None, eos_token: str | None = None,
                 add_bos: bool = False, chat_template: str | None = None, origin: str = "",
                 template_source: str = ""):
        self.backend = backend
        self.bos_token, self.eos_token = bos_token, eos_token
        self.bos_token_id = backend.token_to_id(bos_token) if bos_token else None
        self.add_bos = add_bos and self.bos_token_id is not None
        self.chat_template = chat_template
        self.origin = origin
        # where the template came from, for its errors: a file, or a GGUF file's metadata field
        self.template_source = template_source or origin or "chat template"
        eos = backend.token_to_id(eos_token) if eos_token else None
        self.eos_token_ids: tuple[int, ...] = () if eos is None else (eos,)
        if chat_template:  # a chat model also stops at the end of its turn
            for marker in ("<end_of_turn>", "<|im_end|>", "<|eot_id|>"):
                marker_id = backend.token_to_id(marker)
                if marker in chat_template and marker_id is not None and marker_id not in self.eos_token_ids:
                    self.eos_token_ids += (marker_id,)

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        ids = self.backend.encode(text, add_special_tokens=add_special_tokens).ids
        if add_special_tokens and self.add_bos and ids[:1] != [self.bos_token_id]:
            ids = [self.bos_token_id, *ids]
        return ids

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return self.backend.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def chat_text(self, conversation: str | list[Message], add_generation_prompt: bool = True,
                  cancelled: Callable[[], bool] = lambda: False) -> str:
        """The conversation (a user prompt, or a list of {role, content}) formatted by the
        checkpoint's own chat template, ready for the model's reply. Raises
        chat_template.TemplateCancelled when `cancelled()` turns true during the render."""
        if not self.chat_template:
            raise WeightsError(f"{self.origin or 'this checkpoint'}: has no chat template (a base model); "
                               "use a plain prompt")
        messages = [{"role": "user", "content": conversation}] if isinstance(conversation, str) else conversation
        return render_chat_template(self.chat_template, self.template_source, cancelled, messages=messages,
                                    add_generation_prompt=add_generation_prompt, bos_token=self.bos_token or "",
                                    eos_token=self.eos_token or "")

    def apply_chat_template(self, conversation: str | list[Message], add_generation_prompt: bool = True,
                            cancelled: Callable[[], bool] = lambda: False) -> list[int]:
        # The template writes the BOS itself where the model wants one.
        return self.encode(self.chat_text(conversation, add_generation_prompt, cancelled), add_special_tokens=False)


# --- from tokenizer.json ---------------------------------------------------------------


def _token_text(value: Any) -> str | None:
    return value.get("content") if isinstance(value, dict) else value


def tokenizer_from_directory(directory: Path) -> TextTokenizer | None:
    """The tokenizer of a Hugging Face directory, or None when it has no tokenizer.json."""
    path = directory / "tokenizer.json"
    if not path.is_file():
        return None
    try:
        backend = Tokenizer.from_file(str(path))
    except Exception as error:  # the tokenizers package raises its own exception type
        raise WeightsError(f"{path}: not a readable tokenizer ({error})") from None
    config: dict = {}
    config_path = directory / "tokenizer_config.json"
    if config_path.is_file():
        try:
            config = json.loads(config_path.read_text())
        except ValueError as error:
            raise WeightsError(f"{config_path}: not valid JSON: {error}") from None
    template = config.get("chat_template")
    if isinstance(template, list):  # named templates: use the default one
        template = next((t.get("template") for t in template if t.get("name") == "default"), None)
    template_source = f"{config_path} (field 'chat_template')"
    jinja_file = directory / "chat_template.jinja"
    if jinja_file.is_file():
        template, template_source = jinja_file.read_text(), str(jinja_file)
    # tokenizer.json's post-processor already adds the BOS where the model wants it.
    return TextTokenizer(backend, bos_token=_token_text(config.get("bos_token")),
                         eos_token=_token_text(config.get("eos_token")), add_bos=False,
                         chat_template=template if isinstance(template, str) else None, origin=str(directory),
                         template_source=template_source)


# --- from GGUF metadata ----------------------------------------------------------------


def _byte_alphabet() -> dict[int, str]:
    """GPT-2's printable stand-in for each byte (bytes that print as themselves keep
    their character; the others move to code points from 256 up)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for byte in range(256):
        if byte in keep:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


def _byte_level(tokens: list[str], merges: list[str], token_types, pre: str) -> Tokenizer:
    spelling = _byte_alphabet()
    alphabet = set(spelling.values())
    # A file may spell a token in plain text rather than the byte alphabet: respell it.
    spelled = [t if set(t) <= alphabet else "".join(spelling[b] for b in t.encode("utf-8")) for t in tokens]
    vocab = {token: index for index, token in enumerate(spelled)}
    pairs = [tuple(merge.split(" ", 1)) for merge in merges]
    backend = Tokenizer(models.BPE(vocab, pairs, fuse_unk=False, byte_fallback=False))
    split = PRE_TOKENIZER_SPLITS.get(pre)
    if split is None:
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(split), behavior="isolated"),
                                                         pre_tokenizers.ByteLevel(add_prefix_space=False,
                                                                                  use_regex=False)])
    backend.decoder = decoders.ByteLevel()
    # A control token outside the byte alphabet is a mislabel in the file, not a real token.
    _add_marked_tokens(backend, tokens, token_types, lambda token: set(token) <= alphabet)
    return backend


def _sentencepiece_merges(vocab: dict[str, int]) -> list[tuple[str, str]]:
    """SentencePiece BPE merges two pieces when their concatenation is a piece; the file
    lists no merges, so recover them from the vocabulary. Pieces earlier in the file merge
    first (Gemma's scores do not follow merge order, its file order does), and a piece
    that splits several ways prefers the longest left part."""
    pieces = {token: token for token in vocab}  # each pair names the vocabulary's own strings:
    merges = []  # half a million fresh substrings would add about 70 MB for Gemma's vocabulary
    for token, _ in sorted(vocab.items(), key=lambda item: item[1]):
        for cut in range(len(token) - 1, 0, -1):
            left, right = pieces.get(token[:cut]), pieces.get(token[cut:])
            if left is not None and right is not None:
                merges.append((left, right))
    return merges


def _sentencepiece(tokens: list[str], token_types, add_space_prefix: bool, unknown: str | None) -> Tokenizer:
    # Gemma stores a run of spaces as real spaces; the text it meets is spelled with "▁".
    respelled = [SPIECE_SPACE * len(t) if t and not t.strip(" ") else t for t in tokens]
    vocab = {token: index for index, token in enumerate(respelled)}
    backend = Tokenizer(models.BPE(vocab, _sentencepiece_merges(vocab), unk_token=unknown, fuse_unk=True,
                                   byte_fallback=True))
    steps = [normalizers.Prepend(SPIECE_SPACE)] if add_space_prefix else []
    backend.normalizer = normalizers.Sequence([*steps, normalizers.Replace(" ", SPIECE_SPACE)])
    decode = [decoders.Replace(SPIECE_SPACE, " "), decoders.ByteFallback(), decoders.Fuse()]
    if add_space_prefix:
        decode.append(decoders.Strip(" ", 1, 0))
    backend.decoder = decoders.Sequence(decode)
    _add_marked_tokens(backend, respelled, token_types, lambda token: token in vocab)
    return backend


def _add_marked_tokens(backend: Tokenizer, tokens: list[str], token_types, acceptable) -> None:
    """Control tokens (<bos>, <|im_start|>) and user-defined ones ("\\n\\n", <think>) are
    matched whole in the text, as llama.cpp does, instead of being cut into pieces."""
    if token_types is None:
        return
    control = [AddedToken(t, normalized=False, special=True)
               for t, kind in zip(tokens, token_types) if kind == CONTROL and acceptable(t)]
    user = [AddedToken(t, normalized=False, special=False)
            for t, kind in zip(tokens, token_types) if kind == USER_DEFINED and acceptable(t)]
    if control:
        backend.add_special_tokens(control)
    if user:
        backend.add_tokens(user)


def tokenizer_from_gguf(metadata: dict, origin: str) -> TextTokenizer | None:
    """The tokenizer the GGUF metadata describes, or None when the file has no vocabulary."""
    kind = metadata.get("tokenizer.ggml.model")
    tokens = metadata.get("tokenizer.ggml.tokens")
    if kind is None or tokens is None:
        return None
    types = metadata.get("tokenizer.ggml.token_type")
    types = None if types is None else [int(t) for t in types]

    def token(key: str) -> str | None:
        index = metadata.get(f"tokenizer.ggml.{key}_token_id")
        return tokens[int(index)] if index is not None and 0 <= int(index) < len(tokens) else None

    if kind == "gpt2":
        merges = metadata.get("tokenizer.ggml.merges")
        if merges is None:
            raise WeightsError(f"{origin}: metadata field 'tokenizer.ggml.merges' is missing (a gpt2 tokenizer "
                               "needs its merges)")
        backend = _byte_level(tokens, merges, types, str(metadata.get("tokenizer.ggml.pre", "default")))
        add_bos_default = False
    elif kind == "llama":
        backend = _sentencepiece(tokens, types, bool(metadata.get("tokenizer.ggml.add_space_prefix", True)),
                                 token("unknown"))
        add_bos_default = True
    else:
        raise WeightsError(f"{origin}: metadata field 'tokenizer.ggml.model' is {kind!r}; supported: gpt2 "
                           "(byte-level BPE), llama (SentencePiece BPE)")
    return TextTokenizer(backend, bos_token=token("bos"), eos_token=token("eos"),
                         add_bos=bool(metadata.get("tokenizer.ggml.add_bos_token", add_bos_default)),
                         chat_template=metadata.get("tokenizer.chat_template"), origin=origin,
                         template_source=f"{origin} (metadata 'tokenizer.chat_template')")
