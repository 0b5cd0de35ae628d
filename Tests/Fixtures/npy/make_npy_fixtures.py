#!/usr/bin/env python3
"""Writes the .npy fixtures of DataFormatTests with NumPy itself. Values follow the formulas the
tests assert. Run from this folder: python3 make_npy_fixtures.py"""
import numpy as np
from numpy.lib import format as npformat

f32 = (np.arange(12, dtype=np.float32).reshape(3, 4) * 0.5 - 1)      # [3, 4]: 0.5 i - 1
np.save("f32.npy", f32)
np.save("f64.npy", np.arange(6, dtype=np.float64).reshape(2, 3) / 3)  # [2, 3]: i / 3
np.save("u8.npy", (np.arange(2 * 2 * 3) * 20).astype(np.uint8).reshape(2, 2, 3))  # [2, 2, 3]: 20 i
np.save("i64_labels.npy", np.array([3, 0, 2], dtype=np.int64))
np.save("scalar.npy", np.float32(2.5))
with open("f32_v2.npy", "wb") as f:                                 # version 2.0 header
    npformat.write_array(f, f32, version=(2, 0))
np.save("fortran.npy", np.asfortranarray(f32))
np.save("big_endian.npy", f32.astype(">f4"))
np.save("complex.npy", np.ones(3, dtype=np.complex64))
np.save("f32_nan.npy", np.array([[1, 2], [3, np.nan]], dtype=np.float32))
