"""The canvas draws every catalog entry with one block per distinct layer of each
group, expands groups into layers, exports PNG and SVG, and takes drops."""

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app.spec import catalog
from app.spec.mixers import Attention, MultiHeadLatentAttention
from app.ui.document import SpecDocument
from app.ui.commands import InsertGroup, MoveGroup, RemoveGroup, SetGroupRepeat, SetLayerField
from app.ui.palette_drops import Refused, drop_edit
from app.ui.grouping import group_layers
from app.ui.palette import PaletteWidget


def test_every_entry_renders_with_its_groups_and_blocks(view):
    for name in catalog.names():
        spec = catalog.get(name)
        groups = group_layers(spec.layers)
        scene = view.arch_scene
        scene.set_spec(spec)
        assert len(scene.group_items) == len(groups), name
        assert len(scene.block_items) == sum(len(g.blocks()) for g in groups), name
        drawn_layers = sorted(i for block in scene.slot_items if block.slot == "mixer" for i in block.layer_indices)
        assert drawn_layers == list(range(spec.num_layers)), name
        assert scene.itemsBoundingRect().width() > 0


def test_a_parallel_block_draws_one_shared_norm_and_says_the_mlp_reads_it(view):
    """Cohere2: one norm box per block, titled as shared, and the feed-forward box's first
    line saying it reads the mixer's normed input."""
    scene = view.arch_scene
    scene.set_spec(catalog.get("tiny-aya"))
    for block in scene.block_items:
        boxes = [item for item in scene.slot_items if block.rect.contains(item.rect)]
        norms = [item for item in boxes if item.slot == "norm"]
        assert [item.title for item in norms] == ["LayerNorm (shared)"]
        ffn = next(item for item in boxes if item.slot == "ffn")
        assert ffn.lines[0].startswith("parallel")


def test_the_embedding_and_head_boxes_name_granites_multipliers(view):
    """Granite: embeddings times 12, logits divided by 16 (times 1/16)."""
    from app.ui.canvas.items import BoxItem

    scene = view.arch_scene
    scene.set_spec(catalog.get("granite-4.1-30b"))
    boxes = {item.title: item.lines for item in scene.items() if isinstance(item, BoxItem)}
    assert "times 12" in boxes["Token embedding"]
    assert "logits times 0.0625" in boxes["Linear output layer"]


def test_an_mlstm_box_names_its_heads_memory_and_gate_cap(view):
    """xLSTM 7B: every mixer box is an mLSTM saying its heads' widths, the gates' cap and the
    constant state; nothing of attention or a cache."""
    scene = view.arch_scene
    scene.set_spec(catalog.get("xlstm-7b"))
    boxes = [item for item in scene.slot_items if item.slot == "mixer"]
    assert boxes
    for box in boxes:
        assert box.title == "mLSTM"
        assert box.lines == ["8 heads · qk 256 / v 512", "exp. input gate · gates capped ±15",
                             "matrix memory · constant state"]


def test_a_cca_box_names_its_heads_convolutions_and_norms_and_the_moe_its_router(view):
    """ZAYA1-8B: every mixer box is a CCA saying its GQA heads, its partial RoPE, its q/k
    convolutions and L2 QK-norm; every MoE box its skip slot and MLP router."""
    scene = view.arch_scene
    scene.set_spec(catalog.get("zaya1-8b"))
    mixers = [item for item in scene.slot_items if item.slot == "mixer"]
    ffns = [item for item in scene.slot_items if item.slot == "ffn"]
    assert mixers and ffns
    for box in mixers:
        assert box.title == "Compressed convolutional attention"
        assert box.lines == ["8 heads · 2 KV · dim 128", "partial RoPE 64/128",
                             "q/k conv 2+2 · L2 QK-norm · key temperature"]
    assert all(box.lines[0] == "16 experts + 1 skip · 1 active" for box in ffns)
    assert all(box.lines[-1].startswith("MLP router 256") for box in ffns)


def test_dropping_cca_from_the_palette_makes_a_cca_layer():
    spec = catalog.get("llama3-8b", "explore")
    edited, _ = drop_edit("cca", "mixer", spec, [0])
    assert edited.layers[0].mixer_kind == "cca" and not edited.validate()


def test_dropping_csa_hca_from_the_palette_makes_a_layer_that_generates():
    """DeepSeek V4's compressed attention from the palette onto a Llama layer: a valid spec whose
    model decodes through its pooled cache."""
    import torch

    from app.model import build_model

    spec = catalog.get("llama3-8b", "explore")
    edited, _ = drop_edit("compressed_attention", "mixer", spec, [0])
    assert edited.layers[0].mixer_kind == "compressed_attention" and not edited.validate()
    model = build_model(edited, seed=0)
    with torch.no_grad():
        cache = model.new_cache(1, 24)
        model(torch.arange(16).unsqueeze(0), cache=cache)
        logits = model(torch.tensor([[16]]), cache=cache)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name, latent", [("nemotron-3-super-120b-a12b", 1024), ("nemotron-3-ultra-550b-a55b", 2048),
                                          ("nemotron-3-nano-30b-a3b", 0)])
def test_a_latent_moe_box_shows_the_latent_width(view, name, latent):
    """Nemotron 3 Super / Ultra: every MoE box says its experts work in the latent; Nano's says nothing of one."""
    scene = view.arch_scene
    scene.set_spec(catalog.get(name))
    boxes = [item for item in scene.slot_items if item.slot == "ffn" and item.title == "Mixture of experts"]
    assert boxes
    for box in boxes:
        assert box.lines[0] == ("512 experts · 22 active" if latent else "128 experts · 6 active")
        assert (f"experts in latent {latent}" in box.lines) == bool(latent)
        assert not latent or box.lines.index(f"experts in latent {latent}") == 2  # under the experts' width


@pytest.mark.parametrize("name, captions", [
    # a period of single layers taking turns: the counts name their layers
    ("nemotron-3-nano-30b-a3b", ["4 x (3 x Mamba-2 + 3 x MoE (no mixer) + 1 x NoPE GQA) = 28 layers",
                                 "2 x (4 x Mamba-2 + 4 x MoE (no mixer) + 1 x NoPE GQA) = 18 layers",
                                 "3 x (1 x Mamba-2 + 1 x MoE (no mixer)) = 6 layers"]),
    ("gpt-oss-20b", ["12 x (1 x MoE sliding-window GQA + 1 x MoE global GQA) = 24 layers"]),
    # runs whose counts say which block they are stay bare, as the article writes them
    ("gemma3-12b", ["8 x (5 + 1) = 48 layers"]),
    ("qwen3-next-80b-a3b", ["12 x (3 + 1) = 48 layers"]),
    ("deepseek-v3", ["3 x dense MLA", "58 x MoE MLA"]),
])
def test_group_headers_say_what_their_counts_count(view, name, captions):
    scene = view.arch_scene
    scene.set_spec(catalog.get(name))
    assert [frame.caption.removeprefix("▸ ") for frame in scene.group_items] == captions


def test_an_interleaved_period_draws_one_block_per_distinct_layer(view, qtbot):
    """Nemotron 3 Nano's Mamba-2 and MoE layers take turns: each group draws a Mamba-2, a
    MoE and an attention block, not one block per layer of its period, so the whole
    diagram fits a 900x600 view at a scale whose text can be read."""
    scene = view.arch_scene
    scene.set_spec(catalog.get("nemotron-3-nano-30b-a3b"))
    assert [frame.caption for frame in scene.block_items] == [
        "12 x Mamba-2", "12 x MoE (no mixer)", "4 x NoPE GQA",
        "8 x Mamba-2", "8 x MoE (no mixer)", "2 x NoPE GQA",
        "3 x Mamba-2", "3 x MoE (no mixer)"]
    view.show()
    qtbot.waitExposed(view)
    view.fit()
    assert view.transform().m11() >= 0.35


def test_a_diagram_too_wide_to_fit_legibly_is_shown_from_its_input_end_and_scrolls(view, qtbot):
    from app.ui.canvas.view import FIT_LEAST_SCALE

    view.arch_scene.set_spec(catalog.get("nemotron-3-nano-30b-a3b"))
    view.resize(620, 400)  # the canvas of a maximized 1280x800 window
    view.show()
    qtbot.waitExposed(view)
    view.fit()
    assert view.transform().m11() == pytest.approx(FIT_LEAST_SCALE)
    bar = view.horizontalScrollBar()
    assert bar.maximum() > 0 and bar.value() == bar.minimum()  # the first group in sight, the rest a scroll away
    first_group = min(view.arch_scene.block_items, key=lambda item: item.sceneBoundingRect().left())
    assert view.mapToScene(view.viewport().rect()).boundingRect().intersects(first_group.sceneBoundingRect())


def test_a_group_expands_into_its_layers(view):
    scene = view.arch_scene
    scene.set_spec(catalog.get("deepseek-v3"))
    scene.toggle_expanded(1)
    assert [item.layer_index for item in scene.layer_items] == list(range(3, 61))
    assert len(scene.block_items) == 1  # the other group stays a block
    scene.toggle_expanded(1)
    assert scene.layer_items == [] and len(scene.block_items) == 2


def test_zoom_and_fit(view, qtbot):
    view.arch_scene.set_spec(catalog.get("gemma3-27b"))
    view.show()
    view.fit()
    fitted = view.transform().m11()
    view.zoom_in()
    assert view.transform().m11() == pytest.approx(fitted * 1.25)
    qtbot.keyClick(view, Qt.Key_F)
    assert view.transform().m11() == pytest.approx(fitted)


def test_export_png_and_svg(view, tmp_path):
    view.arch_scene.set_spec(catalog.get("qwen3-next-80b-a3b"))
    png, svg = view.export(tmp_path / "d.png"), view.export(tmp_path / "d.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Gated DeltaNet" in svg.read_text()


def test_undo_commands_restore_the_spec_exactly():
    spec = catalog.get("deepseek-v3")
    document = SpecDocument(spec)
    stack = document.undo_stack
    stack.push(SetGroupRepeat(document, 1, 10))
    assert document.spec.num_layers == 13
    stack.push(MoveGroup(document, 1, -1))
    assert document.spec.layers[0] == spec.layers[3]
    stack.push(InsertGroup(document, 0, [spec.layers[0]] * 2))
    stack.push(RemoveGroup(document, 0))
    stack.push(SetLayerField(document, [0, 1], "mixer.num_heads", 64))
    assert stack.command(stack.count() - 1).text() == "Set num_heads to 64 in 2 layers"
    while stack.canUndo():
        stack.undo()
    assert document.spec == spec


def test_drop_edit_derives_mla_from_gqa_and_refuses_mismatches():
    spec = catalog.get("llama3-8b")
    after, text = drop_edit("mla", "mixer", spec, list(range(spec.num_layers)))
    assert text == "Replace GQA with MLA"
    mla = after.layers[0].mixer
    assert isinstance(mla, MultiHeadLatentAttention) and mla.num_heads == 32 and mla.kv_lora_rank == 512
    assert after.validate() == []
    with pytest.raises(Refused, match="feed-forward box"):
        drop_edit("swiglu", "mixer", spec, [0])
    nemotron = catalog.get("nemotron-3-nano-30b-a3b")
    ffn_only = next(i for i, layer in enumerate(nemotron.layers) if layer.mixer is None)
    with pytest.raises(Refused, match="needs a mixer"):
        drop_edit("no_ffn", "ffn", nemotron, [ffn_only])


def send_drop(view, item, key):
    """A palette drag delivered through the view as the platform would (QDrag.exec blocks)."""
    data = PaletteWidget.mime_for(key)
    point = view.mapFromScene(item.sceneBoundingRect().center())  # QPoint: what drag events take
    app = QApplication.instance()
    enter = QDragEnterEvent(point, Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
    app.sendEvent(view.viewport(), enter)
    move = QDragMoveEvent(point, Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
    app.sendEvent(view.viewport(), move)
    drop = QDropEvent(QPointF(point), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
    app.sendEvent(view.viewport(), drop)
    return move.isAccepted(), drop.isAccepted()


def test_drop_through_the_view(view, qtbot):
    document = SpecDocument(catalog.get("qwen3-0.6b"))
    view.arch_scene.set_spec(document.spec)
    applied = []

    def handler(key, item):
        try:
            after, text = drop_edit(key, item.slot, document.spec, item.layer_indices)
        except Refused as reason:
            return str(reason)
        applied.append(text)
        return None

    view.drop_handler = handler
    view.show()
    view.fit()
    attention = view.arch_scene.slot_item(0, 0, "mixer")
    assert send_drop(view, attention, "mla") == (True, True)
    assert applied == ["Replace GQA with MLA"]
    with qtbot.waitSignal(view.message) as message:
        accepted = send_drop(view, attention, "moe")
    assert accepted[1] is False and "feed-forward box" in message.args[0]
    assert isinstance(document.spec.layers[0].mixer, Attention)


def test_a_tint_repaints_the_boxes_under_their_cached_text(view, qtbot, monkeypatch):
    from app.ui.canvas.items import BoxItem

    scene = view.arch_scene
    scene.set_spec(catalog.get("gemma3-270m"))
    view.show()
    qtbot.waitExposed(view)
    view.fit()
    mixer = next(item for item in scene.slot_items if item.slot == "mixer")
    spot = view.mapFromScene(mixer.rect.bottomLeft() + QPointF(4, -3))  # inside the box, clear of its text
    before = view.viewport().grab().toImage().pixelColor(spot)

    laid_out = []
    monkeypatch.setattr(BoxItem, "paint_text", lambda self, painter: laid_out.append(self))
    layers = scene.spec.num_layers
    scene.show_step_shares([0.03] * layers, [0.01] * layers)
    after = view.viewport().grab().toImage().pixelColor(spot)
    assert after != before and after.red() > after.blue()  # the heat colour shows in the box
    assert laid_out == []  # the text came from the cache: no wrapping and eliding per tint


def test_longcat_boxes_name_the_zero_experts_the_shortcut_and_the_ngram_tables(view):
    """LongCat-Flash-Lite: each MoE box says its 128 zero experts beside the 256 real ones and
    that the experts join after the next layer while the dense MLP joins now; the embedding
    box names the hashed n-gram tables."""
    from app.ui.canvas.items import BoxItem

    scene = view.arch_scene
    scene.set_spec(catalog.get("longcat-flash-lite"))
    moe = [item for item in scene.slot_items if item.slot == "ffn" and item.title == "Mixture of experts"]
    assert moe
    for box in moe:
        assert box.lines == ["256 experts + 128 zero experts · 12 active", "SwiGLU hidden 1024",
                             "shortcut: dense MLP 6144 now, experts after the next layer"]
    embedding = next(item for item in scene.items() if isinstance(item, BoxItem) and item.title == "Token embedding")
    assert embedding.lines[-3:] == ["+ N-gram embedding:", "12 hashed tables · 2..4-grams", "78 x vocab rows each"]


def test_deepseek_v4_boxes_name_the_hash_routed_layers_and_the_residual_streams(view):
    """DeepSeek V4-Pro: its first three MoE layers choose experts by a table of token ids and
    say so, the learned ones do not; the embedding box names the four mHC streams and the head
    box their collapse."""
    from app.ui.canvas.items import BoxItem

    scene = view.arch_scene
    spec = catalog.get("deepseek-v4-pro")
    scene.set_spec(spec)
    hashed = [layer.ffn.router.hash_routed for layer in spec.layers]
    assert hashed[:3] == [True] * 3 and not any(hashed[3:])
    moe = [item for item in scene.slot_items if item.slot == "ffn" and item.title == "Mixture of experts"]
    said = ["hash-routed: experts looked up by token id" in box.lines for box in moe]
    assert True in said and False in said  # the groups of hash-routed layers, and the others
    boxes = {item.title: item for item in scene.items() if isinstance(item, BoxItem)}
    assert "mHC: 4 residual streams, mixed around" in boxes["Token embedding"].lines
    assert "after the 4 mHC streams collapse to one" in boxes["Linear output layer"].lines
