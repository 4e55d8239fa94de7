"""CUDA arrays used in place (docs/python.md, "Device tensors").

A tensor on a CUDA device (PyTorch, CuPy, anything exporting DLPack with a CUDA device) is read
through its DLPack description: its device pointer, dtype and layout, with no copy. Outputs are
allocated by the tensor's own library on the same device, and the library works on that library's
current stream (sf_plan_evaluate_device), so the results are ordered with the caller's own work."""

from __future__ import annotations

import ctypes as C
from dataclasses import dataclass
from typing import Any

# DLPack device types (dlpack.h) that live in CUDA device memory
_KDL_CUDA, _KDL_CUDA_MANAGED = 2, 13
_KDL_FLOAT = 2  # DLDataTypeCode kDLFloat


class _DLDevice(C.Structure):
    _fields_ = [("device_type", C.c_int32), ("device_id", C.c_int32)]


class _DLDataType(C.Structure):
    _fields_ = [("code", C.c_uint8), ("bits", C.c_uint8), ("lanes", C.c_uint16)]


class _DLTensor(C.Structure):  # a DLManagedTensor begins with its DLTensor
    _fields_ = [
        ("data", C.c_void_p),
        ("device", _DLDevice),
        ("ndim", C.c_int32),
        ("dtype", _DLDataType),
        ("shape", C.POINTER(C.c_int64)),
        ("strides", C.POINTER(C.c_int64)),
        ("byte_offset", C.c_uint64),
    ]


_capsule_pointer = C.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = C.c_void_p
_capsule_pointer.argtypes = [C.py_object, C.c_char_p]


def dlpack_device(obj: Any) -> tuple[int, int] | None:
    """(device type, device id) of a DLPack exporter, None for anything else."""
    if not hasattr(obj, "__dlpack_device__"):
        return None
    device_type, device_id = obj.__dlpack_device__()
    return int(device_type), int(device_id)


def is_device_array(obj: Any) -> bool:
    """Whether obj is an array in CUDA device memory (used in place, never copied to the host)."""
    device = dlpack_device(obj)
    return device is not None and device[0] in (_KDL_CUDA, _KDL_CUDA_MANAGED)


@dataclass
class DeviceView:
    """What the library needs of a C-contiguous float array exported through DLPack."""

    pointer: int
    shape: tuple[int, ...]
    dtype: str  # "f64" or "f32"
    device_type: int
    device_id: int
    capsule: Any  # keeps the exporter's memory alive while the view is used


def dlpack_view(obj: Any, name: str, stream: int | None = None) -> DeviceView:
    """The DLPack description of obj (device pointer, shape, dtype), refused with a clear error
    unless it is a C-contiguous float64 or float32 array. stream is the consumer's stream for the
    exporter's synchronisation (DLPack: 1 = the legacy default stream)."""
    try:
        capsule = obj.__dlpack__() if stream is None else obj.__dlpack__(stream=stream)
    except TypeError:  # exporters without the stream argument
        capsule = obj.__dlpack__()
    tensor = _DLTensor.from_address(_capsule_pointer(capsule, b"dltensor"))
    shape = tuple(tensor.shape[i] for i in range(tensor.ndim))
    code, bits, lanes = tensor.dtype.code, tensor.dtype.bits, tensor.dtype.lanes
    if code != _KDL_FLOAT or bits not in (32, 64) or lanes != 1:
        raise TypeError(f"{name}: a device array must hold float64 or float32 (DLPack type code {code}, {bits} bits)")
    if tensor.strides:  # NULL strides mean C order
        expected = 1
        for axis in reversed(range(tensor.ndim)):
            if shape[axis] != 1 and tensor.strides[axis] != expected:
                raise ValueError(f"{name}: a device array must be C-contiguous (use .contiguous() first)")
            expected *= shape[axis]
    return DeviceView(
        pointer=(tensor.data or 0) + tensor.byte_offset,
        shape=shape,
        dtype="f64" if bits == 64 else "f32",
        device_type=int(tensor.device.device_type),
        device_id=int(tensor.device.device_id),
        capsule=capsule,
    )


def current_stream(obj: Any) -> int:
    """The cudaStream_t (as an integer) of obj's library's current stream on obj's device; 0 (the
    legacy default stream) for libraries with no notion of one."""
    module = type(obj).__module__.split(".")[0]
    if module == "torch":
        import torch

        return int(torch.cuda.current_stream(obj.device).cuda_stream)
    if module == "cupy":
        import cupy

        return int(cupy.cuda.get_current_stream().ptr)
    return 0


def empty_like(obj: Any, shape: tuple[int, ...]) -> Any:
    """A new array of obj's library, dtype and device with the given shape, for the library to
    write. JAX arrays are immutable, so they are refused as destinations."""
    module = type(obj).__module__.split(".")[0]
    if module in ("jax", "jaxlib"):
        raise TypeError(
            "JAX arrays are immutable, so scorefield cannot write its outputs into device JAX arrays: "
            "evaluate host arrays, or PyTorch / CuPy device arrays"
        )
    if hasattr(obj, "new_empty"):  # PyTorch
        return obj.new_empty(shape)
    if hasattr(obj, "__array_namespace__"):  # the array API standard (CuPy, ...)
        return obj.__array_namespace__().empty(shape, dtype=obj.dtype, device=obj.device)
    raise TypeError(f"cannot allocate outputs beside a device array of type {type(obj).__name__}")
