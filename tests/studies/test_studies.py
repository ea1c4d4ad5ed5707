"""Every study, run quick at the explore scale's widths: its report has the article's
question and section, an answer, every measured figure beside its predicted twin, and
figures that render; the answer's numbers are the ones its data holds."""

import json
import re

import pytest

from app.studies.registry import STUDIES
from app.studies.study import Settings, StudyResult
from app.study_cli import write_with_figures
from app.units import human_bytes

TINY = Settings(quick=True, size="tiny")


@pytest.fixture(scope="module")
def reports(tmp_path_factory, qapp):
    """Each study's report folder, written once for the module."""
    out = tmp_path_factory.mktemp("studies")
    folders = {}
    for name, study in STUDIES.items():
        write_with_figures(study.run(TINY), out / name)
        folders[name] = out / name
    return folders


@pytest.mark.parametrize("name", list(STUDIES))
def test_a_report_asks_the_question_answers_it_and_pairs_every_figure_with_a_prediction(reports, name):
    folder = reports[name]
    study = STUDIES[name]
    result = StudyResult.from_dict(json.loads((folder / "data.json").read_text()))
    report = (folder / "report.md").read_text()
    assert study.question in report and f"Comparison, {study.section}" in report
    assert result.answer and f"**Answer.** {result.answer}" in report
    assert any(row.unit == "ms" for row in result.rows), "a study times something"
    assert all(row.predicted is not None for row in result.rows), "a measured figure without its predicted twin"
    assert len(set(row.arm for row in result.rows)) >= 2 and result.snapshots
    for figure in result.figures:
        for suffix in (".png", ".svg"):
            drawn = folder / f"{figure.name}{suffix}"
            assert drawn.stat().st_size > 2000, drawn
        assert f"![{figure.title}]({figure.name}.png)" in report
    assert "size: tiny" in report and "quick run" in report


@pytest.mark.parametrize("name", list(STUDIES))
def test_the_answer_is_the_one_its_data_gives(reports, name):
    """Recomputed from data.json alone, the answer is the same sentence."""
    result = StudyResult.from_dict(json.loads((reports[name] / "data.json").read_text()))
    assert STUDIES[name].answer(result) == result.answer


def _measured(result, quantity, arm, x):
    return next(row.measured for row in result.rows if (row.quantity, row.arm, row.x) == (quantity, arm, x))


def test_mla_answer_numbers_are_the_cache_bytes_and_times_measured(reports):
    result = StudyResult.from_dict(json.loads((reports["mla-vs-gqa"] / "data.json").read_text()))
    context = max(row.x for row in result.rows)
    stated = int(re.search(r"At ([\d,]+) tokens", result.answer).group(1).replace(",", ""))
    assert stated == context
    mla, gqa, mha = list(dict.fromkeys(row.arm for row in result.rows))
    per_token = {arm: _measured(result, "kv_bytes_per_token", arm, context) for arm in (mla, gqa, mha)}
    assert f"MLA holds {human_bytes(per_token[mla])}" in result.answer
    assert f"{per_token[mha] / per_token[mla]:.1f}x less than {mha}" in result.answer
    assert "MHA" in mha and f"{_measured(result, 'layer_ms', mha, context):.2f} ms" in result.answer


def test_sliding_window_answer_numbers_are_the_cache_bytes_and_times_measured(reports):
    result = StudyResult.from_dict(json.loads((reports["sliding-window-latency"] / "data.json").read_text()))
    context = max(row.x for row in result.rows)
    window = _measured(result, "kv_bytes", "Gemma 3 window", context)
    full = _measured(result, "kv_bytes", "Gemma 3 global", context)
    assert full > window  # the window stops the cache at its size
    assert f"({full / window:.1f}x less)" in result.answer
    fast = _measured(result, "layer_ms", "Gemma 3 global", context) / _measured(result, "layer_ms", "Gemma 3 window",
                                                                                 context)
    assert f"({fast:.2f}x as fast)" in result.answer


def test_the_measured_cache_equals_the_analysis(reports):
    """KV bytes are measured from the caches, not copied from the prediction."""
    for name in STUDIES:
        result = StudyResult.from_dict(json.loads((reports[name] / "data.json").read_text()))
        for row in result.rows:
            if row.quantity == "kv_bytes":
                assert row.measured == row.predicted, (name, row)


def test_the_sparse_answer_names_where_the_selection_pays(reports):
    result = StudyResult.from_dict(json.loads((reports["sparse-attention"] / "data.json").read_text()))
    contexts = sorted({row.x for row in result.rows})
    faster = [x for x in contexts if _measured(result, "layer_ms", "V3.2 sparse MLA", x)
              < _measured(result, "layer_ms", "V3 dense MLA", x)]
    expected = f"first paid at {int(faster[0]):,} tokens" if faster else f"did not pay up to {int(contexts[-1]):,}"
    assert expected in result.answer


def test_the_hybrid_answer_states_the_cache_saved(reports):
    result = StudyResult.from_dict(json.loads((reports["linear-attention-hybrids"] / "data.json").read_text()))
    context = max(row.x for row in result.rows)
    for label in ("Qwen3-Next", "Kimi Linear"):
        hybrid = _measured(result, "kv_bytes", f"{label} hybrid", context)
        full = _measured(result, "kv_bytes", f"{label} full attention", context)
        assert f"({1 - hybrid / full:.0%} less)" in result.answer
    assert "Kimi Linear report states" in (reports["linear-attention-hybrids"] / "report.md").read_text()


def test_the_budget_answer_gives_each_pattern_its_share_of_global_cache(reports):
    result = StudyResult.from_dict(json.loads((reports["attention-budget"] / "data.json").read_text()))
    context = max(row.x for row in result.rows)
    full = _measured(result, "kv_bytes", "all global", context)
    shares = [_measured(result, "kv_bytes", label, context) / full for label in ("5:1", "3:1", "1:1")]
    assert shares == sorted(shares) and shares[-1] < 1  # more local layers, less cache
    assert f"5:1 {shares[0]:.0%}" in result.answer


def test_every_listed_study_exists_and_the_listing_loads_no_torch():
    """The Studies menu lists from listing.py, which must not bring torch into the window."""
    import subprocess
    import sys

    from app.studies.listing import LISTINGS

    assert list(STUDIES) == list(LISTINGS) and all(STUDIES[name].listing is LISTINGS[name] for name in LISTINGS)
    loaded = subprocess.run([sys.executable, "-c", "import sys, app.studies.listing, app.studies.report, "
                             "app.studies.study; print('torch' in sys.modules)"], capture_output=True, text=True)
    assert loaded.stdout.strip() == "False", loaded.stderr


def test_the_experts_answer_and_rows_agree_with_uniform_routing(reports):
    result = StudyResult.from_dict(json.loads((reports["few-large-vs-many-small-experts"] / "data.json").read_text()))
    for row in result.rows_of("experts_reached"):
        assert 1 <= row.measured and abs(row.measured - row.predicted) <= max(2.0, 0.35 * row.predicted), row
    batch = max(row.x for row in result.rows)
    for arm in dict.fromkeys(row.arm for row in result.rows):
        assert f"its tokens reaching {int(_measured(result, 'experts_reached', arm, batch))} experts" in result.answer


def test_the_committed_reports_answers_are_the_ones_their_data_gives():
    """docs/studies holds full runs on the development machine: each answer there is the
    sentence its own data.json gives, and every measured figure has its predicted twin."""
    from pathlib import Path

    from app.runtime.snapshot_file import read_snapshot

    folders = sorted((Path(__file__).resolve().parents[2] / "docs" / "studies").glob("*/data.json"))
    assert folders, "no committed study reports"
    for path in folders:
        result = StudyResult.from_dict(json.loads(path.read_text()))
        assert not result.quick and result.size == "published", path
        assert STUDIES[result.study].answer(result) == result.answer, path
        assert all(row.predicted is not None for row in result.rows), path
        assert f"**Answer.** {result.answer}" in (path.parent / "report.md").read_text()
        assert result.snapshots, path
        for arm, run in result.snapshots.items():
            assert read_snapshot(path.parent / run)["run"]["new_tokens"] > 0, (path, arm)


def test_the_width_depth_answer_names_the_faster_shape_at_each_batch(reports):
    from app.studies.width_depth import PAIRS

    result = StudyResult.from_dict(json.loads((reports["width-vs-depth"] / "data.json").read_text()))
    for wide, deep in PAIRS:
        sizes = sorted({row.x for row in result.rows_of("tokens_per_s", wide)})
        for batch in (sizes[0], sizes[-1]):
            speeds = {arm: _measured(result, "tokens_per_s", arm, batch) for arm in (wide, deep)}
            faster, slower = sorted(speeds, key=speeds.get, reverse=True)
            assert f"({faster} {speeds[faster] / speeds[slower]:.2f}x as fast)" in result.answer
            step = _measured(result, "step_ms", wide, batch)
            assert abs(speeds[wide] - batch * 1e3 / step) < 0.01 * speeds[wide]  # tokens/s is the step's


def test_the_wide_twin_holds_the_parameters_of_its_family_outside_the_embeddings():
    from app.spec import catalog
    from app.spec.analysis import analyze
    from app.studies.width_depth import wide_twin

    deep = catalog.get("qwen3-8b", "full")
    wide = wide_twin(deep)
    assert (wide.num_layers, wide.d_model) == (18, 5760)
    assert wide.layers[0].mixer == deep.layers[0].mixer  # the attention's heads as they were
    ratio = analyze(wide).non_embedding_params / analyze(deep).non_embedding_params
    assert abs(ratio - 1) < 0.002, ratio
    with pytest.raises(ValueError, match="identical attention"):
        wide_twin(catalog.get("gemma3-27b", "full"))  # 5 local : 1 global, not uniform


def test_the_ple_answer_states_what_the_accelerator_keeps(reports):
    """The bytes each placement leaves on the accelerator are the analysis' (whole model, or
    all but the table), and the answer states the measured figures."""
    from app.units import human_count

    result = StudyResult.from_dict(json.loads((reports["per-layer-embeddings"] / "data.json").read_text()))
    for label in ("Gemma 3n E2B", "Gemma 3n E4B"):
        on, off = f"{label}, table on the accelerator", f"{label}, table in host memory"
        size = next(row.x for row in result.rows_of("step_ms", on))
        whole, lean = (_measured(result, "accelerator_bytes", arm, size) for arm in (on, off))
        assert lean < whole
        for arm in (on, off):
            for quantity in ("accelerator_bytes", "accelerator_params"):
                row = next(row for row in result.rows_of(quantity, arm))
                assert row.measured == row.predicted, row
        kept, total = (_measured(result, "accelerator_params", arm, size) for arm in (off, on))
        assert f"{label} keeps {human_count(kept)} of its {human_count(total)} parameters ({kept / total:.0%})" \
            in result.answer
        assert f"({human_bytes(whole - lean)} saved)" in result.answer


@pytest.mark.parametrize("name", list(STUDIES))
def test_each_arm_is_a_snapshot_the_window_opens(reports, name):
    """runs/ holds each arm's run as a normal profile snapshot, its study points as the
    sweep or batch sweep the dashboard draws."""
    from app.runtime.snapshot_file import read_snapshot

    result = StudyResult.from_dict(json.loads((reports[name] / "data.json").read_text()))
    assert set(result.snapshots) == {row.arm for row in result.rows if row.unit == "ms"}
    for arm, path in result.snapshots.items():
        document = read_snapshot(reports[name] / path)  # raises, naming the problem, if it is not one
        assert document["steps"] and (document.get("sweep") or document.get("batch_sweep")), arm
