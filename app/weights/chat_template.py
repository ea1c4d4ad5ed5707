"""Rendering a checkpoint's chat template (Jinja) in a sandbox with a budget.

A template is data from the file, never trusted code: Jinja's immutable sandbox already
refuses private attributes and mutation, but not work. A template can loop forever within
the sandbox (nested `range(100000)` loops are 10^10 iterations), build a 10 GB string in one
operation (`'a' * 10**10`) or divide by zero. So every render runs under a `RenderBudget`
that one hook, `_Meter.tick`, enforces: it counts steps (each loop iteration, call, filter,
attribute or item read, and output chunk), checks the wall time and the caller's cancel
flag, and the size of what an operator, a filter or a string method is about to build is
checked before it is built. Any exception the template raises becomes a `WeightsError`
that names the template's source (the GGUF file, tokenizer_config.json or
chat_template.jinja).
"""

from __future__ import annotations

import operator
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from .errors import WeightsError


@dataclass(frozen=True)
class RenderBudget:
    """What one render may spend. SmolLM2's own template renders a ten-turn conversation
    in 55 steps, 7 ms and 2.8 kB; the limits stay orders of magnitude above that for the
    templates hundreds of lines long (tools, reasoning turns), and a refusal comes within
    `seconds`, well before a user thinks the program hung."""

    steps: int = 2_000_000
    output_chars: int = 1_000_000
    seconds: float = 1.0


class TemplateCancelled(Exception):
    """The caller's cancel flag turned true during a render."""


class _BudgetExceeded(Exception):
    """A render went past its budget (turned into a WeightsError naming the template)."""


class _Meter:
    """The budget's one hook, called from every place where the template can do work."""

    def __init__(self, budget: RenderBudget, cancelled: Callable[[], bool]):
        self.budget = budget
        self.cancelled = cancelled
        self.steps = 0
        self.deadline = time.monotonic() + budget.seconds

    def tick(self) -> None:
        self.steps += 1
        if self.steps > self.budget.steps:
            raise _BudgetExceeded(f"more than {self.budget.steps:,} steps (loop iterations, calls, reads)")
        if time.monotonic() > self.deadline:
            raise _BudgetExceeded(f"more than {self.budget.seconds:g} s of rendering")
        if self.cancelled():
            raise TemplateCancelled()

    def check_size(self, length: int, what: str, unit: str = "items") -> None:
        if length > self.budget.output_chars:
            raise _BudgetExceeded(f"{what} of {length:,} {unit} (at most {self.budget.output_chars:,})")

    def iterate(self, iterable: Iterable) -> Iterable:
        for item in iterable:
            self.tick()
            yield item


# Jinja folds constant expressions while compiling unless the sandbox intercepts the
# operator: these are intercepted so that what they build is sized before it is built
# (`'a' * 10**10`, a string doubled in a loop, `'%999999999d' % 1`).
_SIZED_BINOPS = frozenset({"*", "**", "+", "%"})
_MAX_POWER_BITS = 4096  # an integer power larger than this is no template's business
# the widths and precisions of printf-style and str.format fields: each is a size to build
_FORMAT_WIDTHS = re.compile(r"%[#0\- +]*(\d*)(?:\.(\d+))?|\{[^{}]*?:[^{}]*?(\d+)(?:\.(\d+))?[^{}]*\}")


class _SizedConcatenation(NodeTransformer):
    """`a ~ b` (Jinja's concatenation) becomes a call that sizes the result first."""

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        parts = [self.visit(part) for part in node.nodes]
        return nodes.Call(nodes.Name("_archscope_concat", "load"), parts, [], None, None, lineno=node.lineno)


class _BudgetedEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = _SIZED_BINOPS

    def __init__(self, meter: _Meter, **options):
        super().__init__(**options)
        self.meter = meter
        self.filters = {name: self._metered(function) for name, function in self.filters.items()}
        self.globals["range"] = self._range
        self.globals["_archscope_loop"] = meter.iterate
        self.globals["_archscope_concat"] = self._concatenate

    def _parse(self, source, name, filename):
        """Every `{% for %}` iterates through the meter, so a loop over a plain list ticks
        too (a loop whose body calls nothing would otherwise run unseen)."""
        tree = _SizedConcatenation().visit(super()._parse(source, name, filename))
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.Name("_archscope_loop", "load"), [loop.iter], [], None, None,
                                   lineno=loop.lineno)
        return tree

    def _metered(self, function: Callable) -> Callable:
        meter = self.meter

        # the filtered value comes first, after the context or environment where Jinja passes one
        value_index = 1 if hasattr(function, "jinja_pass_arg") else 0

        def metered(*args, **kwargs):
            meter.tick()
            for value in (*args[value_index + 1:], *kwargs.values()):  # center(10**9): a size to build
                if isinstance(value, int) and not isinstance(value, bool):
                    meter.check_size(abs(value), "a filter's result")
            return function(*args, **kwargs)

        if hasattr(function, "jinja_pass_arg"):  # Jinja reads the mark to pass the context or environment
            metered.jinja_pass_arg = function.jinja_pass_arg
        return metered

    def _range(self, *args: int) -> range:
        self.meter.tick()
        numbers = range(*args)
        self.meter.check_size(len(numbers), "range()")
        return numbers

    def _concatenate(self, *parts: Any) -> str:
        texts = [str(part) for part in parts]
        self.meter.check_size(sum(map(len, texts)), "a concatenated string", "characters")
        return "".join(texts)

    def _check_format(self, text: str) -> None:
        for match in _FORMAT_WIDTHS.finditer(text):
            for number in filter(None, match.groups()):
                self.meter.check_size(int(number), "a formatted field", "characters")

    def call(self, context, function, /, *args, **kwargs):  # positional-only: kwargs may hold any name
        self.meter.tick()
        if isinstance(getattr(function, "__self__", None), str):  # 'x'.ljust(10**9)
            for value in (*args, *kwargs.values()):
                if isinstance(value, int) and not isinstance(value, bool):
                    self.meter.check_size(abs(value), "a string method's result", "characters")
        return super().call(context, function, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """str.format as the sandbox hands it out (as an attribute or an item), its widths
        checked first: '{:999999999}'.format(1)."""
        text = getattr(value, "__self__", None)
        if getattr(value, "__name__", "") in ("format", "format_map") and isinstance(text, str):
            self._check_format(text)
        return super().wrap_str_format(value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.meter.tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.meter.tick()
        return super().getitem(obj, argument)

    def call_binop(self, context, operator_name: str, left: Any, right: Any) -> Any:
        self.meter.tick()
        if operator_name == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                self.meter.check_size(len(left) + len(right), "a joined string or list")
            return operator.add(left, right)
        if operator_name == "%":
            if isinstance(left, str):
                self._check_format(left)
                if "*" in left:  # '%*d' % (width, value): the widths are among the values
                    for value in right if isinstance(right, tuple) else (right,):
                        if isinstance(value, int) and not isinstance(value, bool):
                            self.meter.check_size(abs(value), "a formatted field", "characters")
            return operator.mod(left, right)
        if operator_name == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
                    self.meter.check_size(len(sequence) * max(count, 0), "a repeated string or list")
            return operator.mul(left, right)
        bits = max(abs(left), 1).bit_length() * right if isinstance(left, int) and isinstance(right, int) else 0
        if bits > _MAX_POWER_BITS:
            raise _BudgetExceeded(f"{left} ** {right} has more than {_MAX_POWER_BITS} bits")
        return operator.pow(left, right)


def render_chat_template(template: str, source: str, cancelled: Callable[[], bool] = lambda: False,
                         budget: RenderBudget = RenderBudget(), **variables) -> str:
    """The template rendered with `variables` (messages, add_generation_prompt, the special
    tokens). source: where the template came from, for the error. Raises WeightsError for
    any failure of the template, TemplateCancelled when `cancelled()` turns true."""
    meter = _Meter(budget, cancelled)
    # trim_blocks / lstrip_blocks: the whitespace rules the published templates are written for
    environment = _BudgetedEnvironment(meter, trim_blocks=True, lstrip_blocks=True)

    def raise_exception(message):
        raise TemplateError(message)

    environment.globals["raise_exception"] = raise_exception
    parts, length = [], 0
    try:
        for part in environment.from_string(template).generate(**variables):
            meter.tick()
            length += len(part)
            meter.check_size(length, "the rendered text", "characters")
            parts.append(part)
    except TemplateCancelled:
        raise
    except TemplateError as error:  # the template's own raise_exception, or a sandbox refusal
        raise WeightsError(f"{source}: chat template: {error}") from None
    except _BudgetExceeded as error:
        raise WeightsError(f"{source}: chat template refused: {error}") from None
    except RecursionError:
        raise WeightsError(f"{source}: chat template refused: its macros recurse too deeply") from None
    except Exception as error:  # noqa: BLE001 - any failure of untrusted template code is the file's fault
        raise WeightsError(f"{source}: chat template failed: {type(error).__name__}: {error}") from None
    return "".join(parts)
