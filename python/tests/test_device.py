"""Device tensors used in place: the DLPack description (pointer, dtype, layout) read without a
copy, the device path's refusals, host tensors of JAX and PyTorch, and, where a CUDA device and
PyTorch with CUDA are present, PyTorch CUDA tensors evaluated in place on their stream."""

from __future__ import annotations

import numpy as np
import pytest

import scorefield as sf
from scorefield._device import dlpack_view, empty_like, is_device_array
from conftest import has_module
from device_checks import torch_cuda_in_place


class FakeCudaArray:
    """Host memory that claims to be on CUDA device 0 through DLPack: the device path's Python side
    runs up to the library, which then refuses (no CUDA plan) or reads it (never, here)."""

    def __init__(self, a: np.ndarray):
        self._a = a
        self.shape = a.shape

    def __dlpack__(self, stream=None):
        return self._a.__dlpack__()

    def __dlpack_device__(self):
        return (2, 0)

    def reshape(self, *shape):
        return FakeCudaArray(self._a.reshape(*shape))


def test_dlpack_view_reads_pointer_shape_and_dtype_without_a_copy() -> None:
    a = np.arange(24, dtype=np.float64).reshape(6, 4)
    v = dlpack_view(a, "a")
    assert (v.pointer, v.shape, v.dtype) == (a.ctypes.data, (6, 4), "f64")
    tail = a[2:]  # an offset into the same memory
    assert dlpack_view(tail, "a").pointer == tail.ctypes.data
    v32 = dlpack_view(a.astype(np.float32), "a")
    assert v32.dtype == "f32" and v32.shape == (6, 4)
    one_column = a[:, :1]  # rows 4 apart: not C-contiguous
    with pytest.raises(ValueError, match="C-contiguous"):
        dlpack_view(one_column, "a")
    with pytest.raises(ValueError, match="C-contiguous"):
        dlpack_view(a[:, ::2], "a")
    with pytest.raises(TypeError, match="float64 or float32"):
        dlpack_view(np.arange(4), "a")


def test_only_cuda_memory_takes_the_device_path() -> None:
    assert not is_device_array(np.zeros(3))
    assert not is_device_array([1.0, 2.0])
    assert is_device_array(FakeCudaArray(np.zeros((2, 2))))


def test_device_path_refusals(three_kinds: sf.Mixture) -> None:
    x = FakeCudaArray(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="host only"):
        sf.evaluate(three_kinds, x, "ve", 0.5, outputs=("score", "dtau_score"))
    with pytest.raises(ValueError, match="runs on the cpu backend"):
        sf.Plan(three_kinds, "ve", 0.5).evaluate(x)
    ok, _ = sf.cuda_available()
    if not ok:
        with pytest.raises(sf.ScorefieldError):  # no device: the CUDA context itself is refused
            sf.evaluate(three_kinds, x, "ve", 0.5, backend="cuda")


def test_jax_arrays_are_immutable_destinations() -> None:
    class JaxLike:
        pass

    JaxLike.__module__ = "jax._src.array"
    with pytest.raises(TypeError, match="immutable"):
        empty_like(JaxLike(), (2, 2))


@pytest.mark.skipif(not has_module("jax"), reason="jax is not installed")
def test_jax_host_arrays_and_jax_models(three_kinds: sf.Mixture) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    x = np.random.default_rng(3).normal(size=(25, 2))
    want = sf.evaluate(three_kinds, x, "vp-linear", 0.4, outputs=("score", "div"))
    got = sf.evaluate(three_kinds, jnp.asarray(x), "vp-linear", 0.4, outputs=("score", "div"))
    np.testing.assert_array_equal(got["score"], want["score"])
    np.testing.assert_array_equal(got["div"], want["div"])
    plan = sf.Plan(three_kinds, "vp-linear", 1.0)

    def jax_model(xt: np.ndarray, t: float):
        plan.set_time(t)
        return jnp.asarray(plan.score(xt))  # a JAX array back: read through DLPack

    kw = dict(n=32, sampler="dpm2", steps=10, seed=4)
    np.testing.assert_allclose(
        sf.sample(three_kinds, score=jax_model, **kw), sf.sample(three_kinds, **kw), rtol=1e-13, atol=1e-13
    )


def _torch_cuda() -> bool:
    if not has_module("torch"):
        return False
    import torch

    return bool(torch.cuda.is_available()) and sf.cuda_available()[0]


@pytest.mark.skipif(not _torch_cuda(), reason="needs PyTorch with CUDA and a CUDA device")
@pytest.mark.parametrize("precision", ["f64", "f32"])
def test_torch_cuda_tensors_are_evaluated_in_place(three_kinds: sf.Mixture, precision: str) -> None:
    assert torch_cuda_in_place(three_kinds, precision) <= 1
