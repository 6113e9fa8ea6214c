"""Data augmentation for image batches: random translations.

A digit moved by a pixel or two is the same digit; showing the network shifted
copies is a cheap way to teach it that (Simard et al. 2003 used distortions).

>>> import numpy as np
>>> x = np.zeros((1, 9), np.float32); x[0, 4] = 1           # a 3x3 image, centre pixel lit
>>> out = random_shift(x, (3, 3), 1, np.random.default_rng(0))
>>> out.shape, float(out.sum())
((1, 9), 1.0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["random_shift"]


def random_shift(x: np.ndarray, image_shape: tuple[int, int], max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Each flattened image in x moved by up to max_shift pixels in each direction (zeros fill in).

    Returns a new float32 array of x's shape; one fancy-index gather, no Python loop.
    """
    if max_shift <= 0:
        return x
    if len(image_shape) != 2:
        raise ValueError(f"random_shift needs 2-D images, got image_shape {image_shape}")
    h, w = image_shape
    n, k = len(x), int(max_shift)
    padded = np.zeros((n, h + 2 * k, w + 2 * k), dtype=x.dtype)
    padded[:, k:k + h, k:k + w] = x.reshape(n, h, w)
    dy = rng.integers(0, 2 * k + 1, size=n)
    dx = rng.integers(0, 2 * k + 1, size=n)
    rows = dy[:, None, None] + np.arange(h)[None, :, None]
    cols = dx[:, None, None] + np.arange(w)[None, None, :]
    return padded[np.arange(n)[:, None, None], rows, cols].reshape(n, h * w)
