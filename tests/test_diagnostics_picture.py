"""diagnostics.png: what each panel draws from diagnostics.jsonl's records (made here by a real training
loop on digits with layer_stats after every epoch), the reader's handling of a half-written file, and
``chainrule plot`` drawing the picture for a run folder that recorded diagnostics."""

from __future__ import annotations

import copy
import dataclasses
import json
import math

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from matplotlib.patches import StepPatch  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import plots  # noqa: E402
from chainrule.cli import main  # noqa: E402
from chainrule.diagnostics import UPDATE_REFERENCE, layer_stats  # noqa: E402
from chainrule.nn import CrossEntropyLoss, Linear  # noqa: E402
from chainrule.spec import build_mlp  # noqa: E402

SIGMOID6 = "-".join(["64sigmoid"] * 6)


def train_records(spec: str, epochs: int, lr: float = 0.01, probe: int = 500) -> list[dict]:
    """diagnostics.jsonl's records of ``spec`` trained with SGD (batches of 32) on digits: layer_stats with
    30-bin histograms after each epoch, and each Linear weight's update ratio ‖Δθ‖/‖θ‖ over the epoch's steps."""
    data = cr.data.load_dataset("digits")
    x, y = data.x_train.reshape(len(data.x_train), -1).astype(np.float32), data.y_train
    net = build_mlp(spec, x.shape[1], 10)
    optimizer = cr.optim.SGD(net.parameters(), lr=lr)
    loss = CrossEntropyLoss()
    chosen = np.random.default_rng(0).choice(len(x), probe, replace=False)
    linears = [(name, m) for name, m in net.named_children() if isinstance(m, Linear)]
    records = []
    for epoch in range(1, epochs + 1):
        ratios = {name: [] for name, _ in linears}
        for i in range(0, len(x), 32):
            before = {name: m.weight.data.copy() for name, m in linears}
            optimizer.zero_grad()
            loss.fprop(net.fprop(x[i:i + 32]), y[i:i + 32])
            net.bprop(loss.bprop())
            optimizer.step()
            for name, m in linears:
                ratios[name].append(float(np.linalg.norm(m.weight.data - before[name]) / np.linalg.norm(m.weight.data)))
        rows = layer_stats(net, x[chosen], y[chosen], histogram_bins=30)
        for row in rows:
            if row["kind"] == "linear":
                steps = ratios[row["name"]]
                row.update(update_ratio=steps[-1], update_ratio_mean=float(np.mean(steps)), update_steps=len(steps))
        records.append({"epoch": epoch, "lr": lr, "probe_size": probe, "layers": rows})
    return records


@pytest.fixture(scope="module")
def sigmoid6():
    return train_records(SIGMOID6, 3)


def panels(fig):
    """(δ norm, update ratio, fractions) axes and the histogram axes that show a layer."""
    by_title = {ax.get_title().split(" (")[0]: ax for ax in fig.axes}
    top = [by_title["δ norm per layer"], by_title["update ratio of the weights"], by_title["saturated and dead units"]]
    hists = [ax for ax in fig.axes if ax.get_title() and ax not in top]
    return top, hists


def texts(ax) -> str:
    return " | ".join(t.get_text() for t in ax.texts)


def write_jsonl(path, records, tail: str = "") -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail)


def test_the_picture_is_written_with_sensible_dimensions(sigmoid6, tmp_path):
    from matplotlib.image import imread

    path = tmp_path / "diagnostics.png"
    plots.plot_diagnostics(sigmoid6, path, "six sigmoid layers")
    assert path.stat().st_size > 60_000  # four panels of lines and 13 histograms, not a blank canvas
    image = imread(path)
    height, width = image.shape[:2]
    assert width == 1760  # 16 inches at 110 dpi
    assert 700 <= height <= 1100  # two rows of histograms under the three panels
    assert image[..., :3].std() > 0.1  # drawn on, not one colour


def test_the_panels_draw_the_records_figures(sigmoid6, figures, tmp_path):
    plots.plot_diagnostics(sigmoid6, tmp_path / "d.png")
    (delta, update, fractions), hists = panels(figures[0])
    linear = [row for row in sigmoid6[0]["layers"] if row["kind"] == "linear"]
    assert len(linear) == 7

    # δ norms: one line per Linear layer on a log scale, each line the layer's grad_norm per epoch
    assert delta.get_yscale() == "log"
    lines = {line.get_label(): line for line in delta.get_lines()}
    assert sorted(lines) == sorted(f"{row['name']} linear" for row in linear)
    first = [r["layers"][0]["grad_norm"] for r in sigmoid6]
    np.testing.assert_allclose(lines["0 linear"].get_ydata(), first)
    np.testing.assert_array_equal(lines["0 linear"].get_xdata(), [1, 2, 3])
    # the lecture's vanishing gradient, as drawn: six sigmoids shrink δ by far more than 100 on the way back
    assert lines["0 linear"].get_ydata()[-1] < lines["12 linear"].get_ydata()[-1] / 100

    # update ratios: the epoch's mean per Linear layer, log scale, the dashed 1e-3 reference labelled
    assert update.get_yscale() == "log"
    ratio_lines = [line for line in update.get_lines() if line.get_linestyle() != "--"]
    assert len(ratio_lines) == 7
    np.testing.assert_allclose(ratio_lines[0].get_ydata(), [r["layers"][0]["update_ratio_mean"] for r in sigmoid6])
    reference = [line for line in update.get_lines() if line.get_linestyle() == "--"]
    assert len(reference) == 1 and list(reference[0].get_ydata()) == [UPDATE_REFERENCE] * 2
    assert "0.001: healthy" in texts(update)
    low, high = update.get_ylim()
    assert low < UPDATE_REFERENCE < high

    # saturated fractions of the six sigmoid layers on 0..1, the 0.5 warning limit marked
    assert len([line for line in fractions.get_lines() if line.get_label().endswith("sigmoid")]) == 6
    assert fractions.get_ylim()[0] < 0 and fractions.get_ylim()[1] > 1
    assert any(list(line.get_ydata()) == [0.5, 0.5] for line in fractions.get_lines())
    assert "warning above 0.5" in texts(fractions)

    # one histogram per layer, with the first and the last epoch
    assert [ax.get_title() for ax in hists] == [f"{r['name']} {r['kind']}" for r in sigmoid6[0]["layers"]]
    legend = figures[0].subfigs[1].legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["epoch 1", "epoch 3"]
    # a stored histogram is drawn over its 30 bins, the counts scaled to a peak of 1
    first, last = [p for p in hists[1].patches if isinstance(p, StepPatch)]  # layer 1: sigmoid, on 0..1
    values, edges, _ = last.get_data()
    counts = np.asarray(sigmoid6[-1]["layers"][1]["histogram"]["counts"], float)
    assert counts.sum() == 500 * 64 and len(edges) == 31 and (edges[0], edges[-1]) == (0.0, 1.0)
    np.testing.assert_allclose(values, counts / counts.max())
    assert values.max() == 1.0
    assert (first.get_label(), last.get_label()) == ("epoch 1", "epoch 3")


def test_nulls_and_nan_leave_gaps_not_errors(sigmoid6, figures, tmp_path):
    records = copy.deepcopy(sigmoid6)
    records[1]["layers"][0]["grad_norm"] = None
    records[2]["layers"][0]["grad_norm"] = float("nan")
    records[0]["layers"][2]["update_ratio_mean"] = None  # falls back on the last step's ratio
    records[1]["layers"][2].update(update_ratio_mean=None, update_ratio=None)
    records[1]["layers"][1]["saturated"] = None
    records[-1]["layers"][1]["histogram"] = None
    records[-1]["layers"][3]["histogram"]["counts"] = [0] * 30
    path = tmp_path / "diagnostics.jsonl"
    write_jsonl(path, records)  # NaN goes through the file as JSON's NaN
    plots.plot_diagnostics(plots.read_diagnostics(path), tmp_path / "d.png")
    (delta, update, fractions), hists = panels(figures[0])
    ys = {line.get_label(): line.get_ydata() for line in delta.get_lines()}["0 linear"]
    assert ys[0] == records[0]["layers"][0]["grad_norm"] and math.isnan(ys[1]) and math.isnan(ys[2])
    ratios = {line.get_label(): line.get_ydata() for line in update.get_lines()}["2 linear"]
    assert ratios[0] == records[0]["layers"][2]["update_ratio"] and math.isnan(ratios[1])
    assert [p.get_label() for p in hists[1].patches if isinstance(p, StepPatch)] == ["epoch 1"]  # the missing last histogram is left out


def test_figures_of_exactly_zero_are_counted_not_hidden(sigmoid6, figures, tmp_path):
    records = copy.deepcopy(sigmoid6)
    for record in records[1:]:  # a network that stopped learning after epoch 1: no change, no δ at layer 0
        record["layers"][0]["grad_norm"] = 0.0
        for row in record["layers"]:
            if row["kind"] == "linear":
                row.update(update_ratio=0.0, update_ratio_mean=0.0)
    plots.plot_diagnostics(records, tmp_path / "d.png")
    (delta, update, _), _ = panels(figures[0])
    assert texts(delta) == "2 δ norms of exactly 0 not drawn (log scale)"
    assert "14 ratios of exactly 0 not drawn (log scale)" in texts(update)  # 7 Linear layers, epochs 2 and 3


def test_a_network_that_overflowed_says_so_in_its_panels(sigmoid6, figures, tmp_path):
    records = copy.deepcopy(sigmoid6[:2])
    for record in records:
        for row in record["layers"]:
            row.update(grad_norm=None, update_ratio=None, update_ratio_mean=None, saturated=None, histogram=None)
    plots.plot_diagnostics(records, tmp_path / "d.png")
    (delta, update, fractions), hists = panels(figures[0])
    assert "no δ norms recorded" in texts(delta) and not delta.get_lines()
    assert texts(update) == "no update ratios recorded"
    assert texts(fractions) == "no fractions recorded"
    assert "no activation histograms recorded" in " ".join(texts(ax) for ax in figures[0].axes)


def test_one_epoch_draws_points_and_says_so(figures, tmp_path):
    records = train_records("32relu-32tanh", 1, probe=200)
    plots.plot_diagnostics(records, tmp_path / "d.png")
    (delta, update, fractions), hists = panels(figures[0])
    for ax in (delta, update, fractions):
        assert ax.get_title().endswith("(epoch 1 only)")
        assert list(ax.get_xticks()) == [1]
    assert all(line.get_marker() == "o" for line in delta.get_lines())
    styles = {ln.get_label(): ln.get_linestyle() for ln in fractions.get_lines() if ln.get_label()[0].isdigit()}
    assert styles == {"1 relu": "--", "3 tanh": "-"}  # dead dashed, saturated solid
    legend = figures[0].subfigs[1].legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["epoch 1"]
    assert figures[0].subfigs[1]._suptitle.get_text().startswith("activations per layer, epoch 1")


def test_no_saturating_or_relu_layers_is_said_in_the_panel(figures, tmp_path):
    records = train_records("linear", 2, probe=100)  # softmax regression: nothing saturates, nothing dies
    plots.plot_diagnostics(records, tmp_path / "d.png")
    (_, _, fractions), hists = panels(figures[0])
    assert texts(fractions) == "no sigmoid, tanh or ReLU-family layers"
    assert not fractions.get_lines()
    assert [ax.get_title() for ax in hists] == ["0 linear"]


def test_a_deep_network_stays_readable(figures, tmp_path):
    records = train_records("-".join(["16sigmoid"] * 13), 2, lr=0.1, probe=100)  # 27 layers
    plots.plot_diagnostics(records, tmp_path / "d.png")
    fig = figures[0]
    (delta, _, _), hists = panels(fig)
    assert len(delta.get_lines()) == 14
    assert [ax.get_title() for ax in hists] == [f"{2 * k + 1} sigmoid" for k in range(13)]  # Linear ones left out
    assert "14 of 27 layers left out, the Linear ones" in fig.subfigs[1]._suptitle.get_text()
    key = [ax for ax in fig.axes if ax.get_legend() is not None][0].get_legend()
    assert len(key.get_texts()) == 27 and key.get_texts()[0].get_fontsize() < 8
    width, height = fig.get_size_inches()
    assert width == 16 and height < 10


def test_no_records_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="plot_diagnostics: no records to draw"):
        plots.plot_diagnostics([], tmp_path / "d.png")


def test_the_reader_skips_a_half_written_last_line(sigmoid6, tmp_path):
    path = tmp_path / "diagnostics.jsonl"
    write_jsonl(path, sigmoid6, tail=json.dumps(sigmoid6[0])[:100])  # a run killed while writing epoch 4
    assert [r["epoch"] for r in plots.read_diagnostics(path)] == [1, 2, 3]
    path.write_text("\n\n")
    assert plots.read_diagnostics(path) == []


@pytest.mark.parametrize("line, message", [
    ('{"epoch": 2, "lay', "line 2: not valid JSON"),
    ("[1, 2]", "line 2: not a JSON object"),
    ('{"epoch": "2", "layers": []}', "line 2: field 'epoch' must be a whole number, got '2'"),
    ('{"epoch": 2, "layers": [3]}', "line 2: field 'layers' must be a list of objects"),
])
def test_the_reader_names_the_file_and_line_of_a_malformed_line(tmp_path, line, message):
    path = tmp_path / "diagnostics.jsonl"
    last = '{"epoch": 3, "layers": []}'
    path.write_text(f'{{"epoch": 1, "layers": []}}\n{line}\n{last}\n')
    with pytest.raises(ValueError, match=f"diagnostics.jsonl {message}"):
        plots.read_diagnostics(path)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "--dataset", "digits", "--model", "16sigmoid", "--epochs", "2", "--no-plots", "--quiet",
                 "--out", str(out)]) == 0
    return out


def test_chainrule_plot_draws_diagnostics_only_when_recorded(run_folder, sigmoid6, capsys):
    capsys.readouterr()
    assert main(["plot", str(run_folder)]) == 0
    assert "diagnostics.png" not in capsys.readouterr().out
    assert not (run_folder / "diagnostics.png").exists()

    write_jsonl(run_folder / "diagnostics.jsonl", sigmoid6[:2], tail='{"epoch": 3, "lr": 0.0')
    try:
        assert main(["plot", str(run_folder)]) == 0
        assert "diagnostics.png" in capsys.readouterr().out
        assert (run_folder / "diagnostics.png").stat().st_size > 50_000

        write_jsonl(run_folder / "diagnostics.jsonl", sigmoid6[:1] + [{"epoch": 2}] + sigmoid6[2:])
        assert main(["plot", str(run_folder)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "diagnostics.jsonl line 2: field 'layers' must be a list of objects" in err
    finally:
        (run_folder / "diagnostics.jsonl").unlink()
        (run_folder / "diagnostics.png").unlink(missing_ok=True)


def test_train_with_diagnostics_draws_the_picture(tmp_path, capsys):
    from chainrule.train import TrainConfig

    if "diagnostics" not in {f.name for f in dataclasses.fields(TrainConfig)}:
        pytest.skip("TrainConfig has no diagnostics field in this checkout")
    out = tmp_path / "run"
    assert main(["train", "--dataset", "digits", "--model", "32sigmoid-32sigmoid", "--epochs", "2", "--diagnostics",
                 "--out", str(out)]) == 0
    assert "diagnostics.png" in capsys.readouterr().out
    assert (out / "diagnostics.png").stat().st_size > 50_000
