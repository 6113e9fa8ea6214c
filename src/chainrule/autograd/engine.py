"""The reverse walk behind ``Tensor.backward()``, and the lending of gradient buffers.

The walk visits each recorded node once, newest first (a reverse topological
order, since an op's inputs always exist before it does), iteratively, so deep
graphs never hit Python's recursion limit. Gradients reaching a leaf are added
into its ``.grad``: a tensor used twice receives the sum.

The gradient-buffer protocol, shared with ``Module.bprop``: a leaf whose
``.grad`` was zeroed by ``zero_grad()`` lends that array (``Tensor.grad_buffer()``)
to the backward that computes its gradient, which may write into it through
``ctx.grad_buffer(i)``; ``Tensor.accumulate_grad`` then sees its own array come
back and only clears the zeroed flag.

>>> import chainrule as cr
>>> x = cr.tensor([1.0, 2.0], requires_grad=True)
>>> y = x * x
>>> [node.function.__name__ for node in reachable_nodes(y._node)]
['Mul']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from .function import Node, unbroadcast

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["backward", "lend_grad_buffers", "reachable_nodes"]


def backward(tensor: "Tensor", seed: np.ndarray) -> None:
    """Add d(tensor)/d(leaf), times ``seed``, into every leaf's ``.grad`` (``Tensor.backward``
    checks the seed first).

    >>> import numpy as np, chainrule as cr
    >>> x = cr.tensor([3.0], requires_grad=True)
    >>> backward(x * x, np.ones(1, np.float32)); x.grad.tolist()
    [6.0]
    """
    root = tensor._node
    if root is None:  # a leaf: its gradient is the seed
        tensor.accumulate_grad(tensor._run_hooks(seed) if tensor._hooks else seed)
        return
    pending: dict[Node, np.ndarray] = {root: seed}  # the gradient waiting for each node's output
    retained: dict[Node, Tensor] = {root: tensor} if tensor._retains_grad else {}
    # Tensors with hooks: a non-leaf's hooks run when its node's whole gradient is known;
    # a leaf's gradient is summed over its uses first, then hooked once (as in PyTorch).
    hooked: dict[Node, Tensor] = {root: tensor} if tensor._hooks else {}
    hooked_leaves: dict[Tensor, np.ndarray] = {}
    for node in reachable_nodes(root):
        g = pending.pop(node, None)
        if g is None:  # no path from the root carried a gradient here
            continue
        if hooked and node in hooked:
            g = hooked[node]._run_hooks(g)
        if retained and node in retained:
            retained[node].accumulate_grad(g)
        for inp, ig in zip(node.inputs, _input_grads(node, g)):
            if inp is None or ig is None:
                continue
            if type(ig) is not np.ndarray or ig.shape != inp.data.shape:
                ig = unbroadcast(np.asarray(ig), inp.data.shape)
            producer = inp._node
            if producer is None:  # a leaf: straight into .grad (each use adds its share)
                if inp._hooks:
                    previous = hooked_leaves.get(inp)
                    hooked_leaves[inp] = ig if previous is None else previous + ig
                else:
                    inp.accumulate_grad(ig)
                continue
            previous = pending.get(producer)
            # ``+`` (not ``+=``): an op may hand the same array to two inputs.
            pending[producer] = ig if previous is None else previous + ig
            if inp._retains_grad:
                retained[producer] = inp
            if inp._hooks:
                hooked[producer] = inp
    for leaf, g in hooked_leaves.items():
        leaf.accumulate_grad(leaf._run_hooks(g))


def _input_grads(node: Node, g: np.ndarray) -> tuple:
    """The node's Function's backward for output gradient g, with its inputs' buffers lent."""
    ctx = node.ctx
    ctx.grad_buffers = lend_grad_buffers(node.inputs)
    try:
        input_grads = node.function.backward(ctx, g)
    finally:
        ctx.grad_buffers = None
    if type(input_grads) is not tuple:
        input_grads = (input_grads,)
    if len(input_grads) != len(node.inputs):
        raise RuntimeError(f"{node.function.__name__}.backward returned {len(input_grads)} gradients "
                           f"for {len(node.inputs)} inputs")
    return input_grads


def lend_grad_buffers(inputs: Sequence["Tensor | None"], sinks: bool = False) -> list | None:
    """For each input slot, the ``.grad`` array a backward may write that input's gradient
    into, or None; None when no input lends one (what ``Context.grad_buffers`` holds).

    A leaf lends its buffer after ``zero_grad()``, unless it has hooks (they must see the
    whole gradient first), and to one slot only: the same leaf twice in one op gets its
    second gradient added. With ``sinks`` (Module.bprop), a leaf an optimizer armed with a
    :class:`GradSink` (``Optimizer.zero_grad(fold=True)``) lends that sink instead.

    >>> import numpy as np, chainrule as cr
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True); w.grad = np.zeros(2, np.float32)
    >>> lend_grad_buffers([None, w]) is None
    True
    >>> w.zero_grad(); [b is w.grad for b in lend_grad_buffers([w, w])]
    [True, False]
    """
    buffers = None
    for k, inp in enumerate(inputs):
        # the tests grad_buffer() makes, inlined: this runs for every node of every backward
        if inp is None or inp._node is not None or inp._hooks:
            continue
        sink = inp._sink if sinks else None
        if sink is not None and not sink.folded:
            lent = sink
        elif inp._grad_zeroed:
            lent = inp._grad
        else:
            continue
        if buffers is None:
            buffers, seen = [None] * len(inputs), set()
        elif id(inp) in seen:  # by identity (== is elementwise)
            continue
        seen.add(id(inp))
        buffers[k] = lent
    return buffers


def reachable_nodes(root: Node) -> list[Node]:
    """Every node the graph behind ``root`` holds, newest first (a reverse topological order)."""
    seen, stack = {root}, [root]
    while stack:  # iterative: deep graphs never hit Python's recursion limit
        for inp in stack.pop().inputs:
            if inp is not None:
                node = inp._node
                if node is not None and node not in seen:
                    seen.add(node)
                    stack.append(node)
    return sorted(seen, key=_sequence, reverse=True)


def _sequence(node: Node) -> int:
    return node.sequence
