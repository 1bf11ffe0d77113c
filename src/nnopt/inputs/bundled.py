"""Tables that ship inside installed packages, read without a download.

The handwritten digits (``data.name = "digits"``) are the 1797 8×8 images that scikit-learn
ships: the file ``load_digits`` reads, found without importing scikit-learn (whose import
costs seconds), or ``load_digits`` itself if the file is not where it was.
"""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np

from nnopt.errors import DataError


@functools.cache
def digits_table() -> np.ndarray:
    """The 1797 rows of 64 pixels (0..16) and the digit, as scikit-learn ships them."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise DataError("data.name = 'digits' needs scikit-learn: pip install scikit-learn")
    for folder in spec.submodule_search_locations or ():
        path = os.path.join(folder, "datasets", "data", "digits.csv.gz")
        if os.path.isfile(path):
            return np.loadtxt(path, delimiter=",")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return np.concatenate([bunch.data, bunch.target[:, None]], axis=1)


TABLES = {"digits": digits_table}  # DatasetSpec.bundled -> its reader
