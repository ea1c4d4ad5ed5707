"""LongCat-Flash-Lite's N-gram embedding, with everything the rest of ArchScope asks of it.

Beside the token's own embedding, each token looks up its 2..N-grams (itself and up to N-1
tokens before it, never across an end-of-sequence token) in `splits` hashed tables per order,
projects each row up to d_model and adds it; the sum is divided by the number of terms.
Meituan's modeling_longcat_ngram.py (trust_remote_code, not in transformers 5.18) is the
only reference. Its torch module is `app/model/ngram_embedding.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .checks import Checker


@dataclass(frozen=True)
class NgramEmbedding:
    """orders: emb_neighbor_num, the longest n-gram (tables for n = 2..orders);
    splits: emb_split_num, hashed tables per order; table_ratio: ngram_vocab_size_ratio, each
    table's rows as a multiple of the vocabulary; boundary_token: the config's eos_token_id,
    at which the n-grams restart."""

    orders: int
    splits: int
    table_ratio: int
    boundary_token: int

    @property
    def tables(self) -> int:
        return self.splits * (self.orders - 1)

    def width(self, d: int) -> int:
        """Each table's row width: d_model shared among the tables, rounded down."""
        return d // self.tables

    def table_rows(self, vocab_size: int) -> list[int]:
        """Rows of each table: ratio * vocab plus a distinct odd number, so that no two
        tables hash with the same modulus."""
        return [self.table_ratio * vocab_size + 2 * index + 1 for index in range(self.tables)]

    def table_params(self, vocab_size: int, d: int) -> int:
        """The hashed tables: looked up, one row per table and token, never multiplied."""
        return sum(self.table_rows(vocab_size)) * self.width(d)

    def projection_params(self, d: int) -> int:
        """Each table's row projected up to d_model: computed for every token."""
        return self.tables * self.width(d) * d

    def context_tokens(self) -> int:
        """Token ids a cache keeps per sequence to hash the next token's n-grams."""
        return self.orders - 1

    def check(self, check: Checker, path: str, vocab_size: int) -> None:
        for name in ("orders", "splits", "table_ratio"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                check.add(f"{path}.{name}", f"expected a whole number, found {value!r}")
                return
        if self.orders < 2:
            check.add(f"{path}.orders", f"{self.orders}: the n-grams start at 2 tokens (emb_neighbor_num >= 2)")
        if self.splits < 1:
            check.add(f"{path}.splits", f"{self.splits}: at least one table per order (emb_split_num >= 1)")
        if self.table_ratio < 1:
            check.add(f"{path}.table_ratio", f"{self.table_ratio}: tables hold at least the vocabulary "
                      "(ngram_vocab_size_ratio >= 1)")
        if self.orders >= 2 and self.splits >= 1 and check.d_model > 0 and self.width(check.d_model) < 1:
            check.add(f"{path}.splits", f"{self.tables} tables share d_model {check.d_model}: each row would "
                      "have no width")
        if self.orders >= 2 and self.splits >= 1 and self.table_ratio >= 1 and vocab_size >= 1:
            # the hash sums up to N-1 ids times powers below the rows, in int64 as the reference
            # does: a sum past 2**63 would wrap and pick rows the model never trained
            largest = (vocab_size - 1) * (1 + (self.orders - 1) * (self.table_ratio * vocab_size + 2 * self.tables - 2))
            if largest >= 2**63:
                check.add(f"{path}.table_ratio", f"{self.table_ratio} x vocab {vocab_size} rows: the n-gram hash "
                          f"reaches about 2**{largest.bit_length() - 1}, past int64")
        if not isinstance(self.boundary_token, int) or not 0 <= self.boundary_token < max(vocab_size, 1):
            check.add(f"{path}.boundary_token", f"{self.boundary_token!r} is not a token id below vocab_size "
                      f"{vocab_size}")

    def explored(self, ratio: float) -> NgramEmbedding:
        """The tables shrink with the width (Lite: 78 x the vocabulary -> 6 x at d_model 256),
        so the explore model keeps them at about the published share of its parameters."""
        return replace(self, table_ratio=max(1, round(self.table_ratio * ratio)))

    def box_lines(self, vocab_size: int) -> list[str]:
        return [f"{self.tables} hashed tables · 2..{self.orders}-grams",
                f"{self.table_ratio} x vocab rows each"]

    def describe(self) -> str:
        return f"N-gram embedding {self.splits}x{self.orders - 1} tables, {self.table_ratio}x vocab"
