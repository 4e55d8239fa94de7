"""Regenerates the NumPy-written .npy fixtures of tests/test_npy.c (run from this directory).
The values are chosen so that the C test can spell them exactly."""
import numpy as np

f64 = np.array([[1.5, -2.25], [1.0 / 3.0, 1e-300], [-0.0, 6.02e23]], dtype=np.float64)
np.save("numpy_f64_3x2.npy", f64)
np.save("numpy_f32_4.npy", np.array([1.5, -0.25, 3.0, 1e-3], dtype=np.float32))
np.save("numpy_scalar.npy", np.array(42.5))
np.save("numpy_empty_0x3.npy", np.zeros((0, 3)))
for version in [(2, 0), (3, 0)]:
    with open("numpy_v%d_2x3.npy" % version[0], "wb") as f:
        np.lib.format.write_array(f, np.arange(6.0).reshape(2, 3) - 2.5, version=version)
