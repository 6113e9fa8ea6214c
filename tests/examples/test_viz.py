"""chainrule.viz: the recorded graph as Graphviz DOT text, and rendering it."""

import re
import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule import viz


def _sum_times():
    x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    x.name, y.name, z.name = "x", "y", "z"
    q = x + y
    q.name = "q"
    f = q * z
    f.name = "f"
    return f, (x, y, z, q)


def _nodes(dot):
    return dict(re.findall(r'^\s*(t\d+) \[label="(.*?)"', dot, flags=re.M))


def _edges(dot):
    return re.findall(r"^\s*(t\d+) -> (t\d+);", dot, flags=re.M)


def test_graph_has_one_node_per_tensor_and_one_edge_per_input():
    f, _ = _sum_times()
    dot = viz.graph(f)
    assert dot.startswith("digraph G {") and dot.rstrip().endswith("}")
    nodes, edges = _nodes(dot), _edges(dot)
    assert len(nodes) == 5 and len(edges) == 4
    names = {k: v.split("\\n")[0] for k, v in nodes.items()}
    by_name = {v: k for k, v in names.items()}
    assert sorted(edges) == sorted([(by_name["x"], by_name["q"]), (by_name["y"], by_name["q"]),
                                    (by_name["q"], by_name["f"]), (by_name["z"], by_name["f"])])


def test_labels_hold_op_value_and_gradient_once_backward_ran():
    f, (x, y, z, q) = _sum_times()
    before = _nodes(viz.graph(f))
    assert not any("grad" in label for label in before.values())  # no backward yet
    viz.retain_grads(f)
    f.backward()
    labels = sorted(_nodes(viz.graph(f)).values())
    assert labels == sorted([
        "x\\nleaf\\nvalue -2\\ngrad -4", "y\\nleaf\\nvalue 5\\ngrad -4", "z\\nleaf\\nvalue -4\\ngrad 3",
        "q\\nAdd\\nvalue 3\\ngrad -4", "f\\nMul\\nvalue -12\\ngrad 1",
    ])


def test_without_retain_grad_only_leaves_show_gradients():
    f, _ = _sum_times()
    f.backward()
    labels = _nodes(viz.graph(f)).values()
    assert sum("grad" in label for label in labels) == 3  # x, y, z


def test_arrays_are_described_by_shape_and_constants_are_counted():
    w = cr.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    x = cr.tensor(np.ones((4, 3), np.float32))  # needs no gradient: not recorded
    loss = ((x @ w) * 2.0).sum()
    loss.backward()
    labels = list(_nodes(viz.graph(loss)).values())
    assert len(labels) == 4  # w, x@w, *2, sum
    assert "leaf\\nvalue shape (3, 2)\\ngrad shape (3, 2)" in labels[0]
    assert labels[1] == "MatMul (with 1 constant)\\nvalue shape (4, 2)"
    assert labels[-1] == "Sum\\nvalue 48"  # the output keeps no .grad unless retain_grad() was called


def test_a_tensor_used_twice_gets_two_edges_and_quotes_are_escaped():
    a = cr.tensor(2.0, requires_grad=True)
    a.name = 'say "a"'
    b = a * a
    dot = viz.graph(b)
    assert len(_edges(dot)) == 2 and len(_nodes(dot)) == 2
    assert 'say \\"a\\"' in dot


def test_walk_is_iterative_on_deep_graphs():
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):  # far beyond Python's recursion limit
        y = y + 1.0
    order = viz.walk(y)
    assert len(order) == 5001 and order[0] is x and order[-1] is y
    assert len(_nodes(viz.graph(y))) == 5001


def test_graph_rejects_non_tensors():
    with pytest.raises(TypeError, match="Tensor"):
        viz.graph(np.ones(3))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG")])
def test_render_writes_the_format_its_extension_names(tmp_path, suffix, magic):
    f, _ = _sum_times()
    f.backward()
    path = viz.render(viz.graph(f), tmp_path / f"graph{suffix}")
    assert path.read_bytes().startswith(magic)
    if suffix == ".svg":
        assert "grad &#45;4" in path.read_text()  # dot writes "-" as an entity


def test_render_writes_dot_text_without_graphviz(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    f, _ = _sum_times()
    dot = viz.graph(f)
    assert viz.render(dot, tmp_path / "g.dot").read_text() == dot
    with pytest.raises(viz.GraphvizNotFound, match="apt-get install graphviz"):
        viz.render(dot, tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()


def test_render_rejects_unknown_extensions(tmp_path):
    with pytest.raises(ValueError, match="format"):
        viz.render("digraph G {}", tmp_path / "g.jpeg2000")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_render_reports_dot_errors(tmp_path):
    with pytest.raises(RuntimeError, match="dot failed"):
        viz.render("this is not DOT", tmp_path / "g.svg")


def test_a_failing_dot_is_one_line_with_its_first_error_line(tmp_path, monkeypatch):
    """Whatever dot prints, the error is one line: the program, its exit status, its first line."""
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'Error: <stdin>: syntax error in line 1 near x' >&2\necho 'second line' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    with pytest.raises(viz.GraphvizError) as caught:
        viz.render("digraph G {}", tmp_path / "g.svg")
    message = str(caught.value)
    assert "\n" not in message and str(fake) in message and "exit status 3" in message
    assert "syntax error in line 1" in message and "second line" not in message
    fake.write_text("not a program: no #! line, and not ELF")  # executable, but the kernel cannot run it
    with pytest.raises(viz.GraphvizError, match="cannot run"):
        viz.render("digraph G {}", tmp_path / "g.svg")


def test_scalar_constants_are_shown_by_value():
    import chainrule as cr
    from chainrule import viz

    x = cr.tensor(-1.0, requires_grad=True)
    f = 1.0 / (1.0 + (-x).exp())  # the slide's "+1" and "1/x" gates
    text = viz.graph(f)
    assert "Add (with 1)" in text and "Div (with 1)" in text
