"""Arrays in and out: NumPy arrays and any object with __dlpack__ (PyTorch, JAX, CuPy) become
float64 C-order host arrays, without a copy when they already are one."""

from __future__ import annotations

from typing import Any

import numpy as np

# DLPack device types (dlpack.h): host memory that NumPy can view
_DLPACK_HOST = (1, 3)  # kDLCPU, kDLCUDAHost


def to_numpy(obj: Any, name: str) -> np.ndarray:
    """A NumPy view of obj when it is host memory (ndarray, __dlpack__, __array__), else a clear error."""
    if isinstance(obj, np.ndarray):
        return obj
    if hasattr(obj, "__dlpack__"):
        if hasattr(obj, "__dlpack_device__"):
            device_type, device_id = obj.__dlpack_device__()
            if int(device_type) not in _DLPACK_HOST:
                raise ValueError(
                    f"{name}: an array on device {int(device_type)}:{device_id} (DLPack); scorefield takes "
                    "host arrays here: move it to the host first (for torch: .cpu()); evaluate() and "
                    "Plan.evaluate() use CUDA arrays in place with backend='cuda'"
                )
        if getattr(obj, "requires_grad", False):  # torch refuses to export tensors that need gradients
            obj = obj.detach()
        return np.from_dlpack(obj)
    return np.asarray(obj)


def as_f64(obj: Any, name: str, shape: tuple[int | None, ...] | None = None) -> np.ndarray:
    """obj as a float64 C-contiguous array, the same memory when it already is one.

    shape gives the expected shape, None for a free axis; a 1-D array of length d is taken as one
    point where shape is (None, d)."""
    a = to_numpy(obj, name)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{name}: expected real numbers, got an array of dtype {a.dtype}")
    if a.dtype != np.float64 or not a.flags.c_contiguous:
        a = np.ascontiguousarray(a, dtype=np.float64)
    if shape is not None:
        if len(shape) == 2 and a.ndim == 1 and shape[1] is not None and a.shape[0] == shape[1]:
            a = a.reshape(1, -1)
        if a.ndim != len(shape) or any(want is not None and got != want for got, want in zip(a.shape, shape)):
            pretty = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name}: expected shape {pretty}, got {a.shape}")
    return a


DTYPE_F64, DTYPE_F32 = 0, 1  # sf_dtype


def as_particles(obj: Any, name: str, d: int) -> tuple[np.ndarray, int]:
    """Particles (n, d) for a library call that reads either dtype: a float32 C-contiguous array is
    passed as it is (the library widens it a chunk at a time), anything else as float64."""
    a = to_numpy(obj, name)
    if a.dtype == np.float32 and a.flags.c_contiguous:
        if a.ndim == 1 and a.shape[0] == d:
            a = a.reshape(1, d)
        if a.ndim != 2 or a.shape[1] != d:
            raise ValueError(f"{name}: expected shape (n, {d}), got {a.shape}")
        return a, DTYPE_F32
    return as_f64(a, name, (None, d)), DTYPE_F64


def ptr(a: np.ndarray | None) -> int | None:
    """The address of an array's data (None stays None: 'not wanted')."""
    return None if a is None else a.ctypes.data


def host_result(out: Any, n: int, d: int) -> np.ndarray:
    """A score model's return value (NumPy, a tensor on any device, anything array-like) as an
    (n, d) float64 array."""
    if not isinstance(out, np.ndarray) and hasattr(out, "__dlpack_device__"):
        device_type, _ = out.__dlpack_device__()
        if int(device_type) not in _DLPACK_HOST and hasattr(out, "cpu"):
            out = out.detach().cpu() if hasattr(out, "detach") else out.cpu()
    a = to_numpy(out, "the score model's result")
    if a.shape != (n, d):
        if a.size == n * d:
            a = a.reshape(n, d)
        else:
            raise ValueError(
                f"the score model returned shape {a.shape} for {n} points in dimension {d}: expected ({n}, {d})"
            )
    return a
