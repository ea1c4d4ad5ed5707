"""Counts and sizes read the same in the window, the CLI and the error messages."""

import pytest

from app.units import human_bytes, human_count


@pytest.mark.parametrize("n, text", [
    (999_885_952, "1B"),  # Gemma 3 1B: rounds up into the next unit, not "1000M"
    (999_400_000, "999M"),
    (671e9, "671B"),
    (1.5e12, "1.5T"),
    (123_456, "123K"),
    (1_500, "1.5K"),
    (999, "999"),
    (0, "0"),
])
def test_a_count_reads_in_the_largest_unit_its_rounded_value_reaches(n, text):
    assert human_count(n) == text


def test_sizes_are_binary_units_with_one_decimal():
    assert human_bytes(1.5 * 2**30) == "1.5 GiB" and human_bytes(512) == "512 B" and human_bytes(3 * 2**40) == "3.0 TiB"
