"""Measured ceilings of the GPU in this run: device-to-device copy bandwidth and GEMM rates on
random data (float64, float32 pedantic, TF32), via PyTorch, timed with CUDA events (median)."""
import sys
import torch


def median_ms(fn, reps=20, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def main():
    if not torch.cuda.is_available():
        print("torch_ceilings: no CUDA device", file=sys.stderr)
        return 3
    dev = torch.device("cuda")
    print(f"device: {torch.cuda.get_device_name(0)}  torch {torch.__version__}")
    n = 1 << 28  # 2 GiB of float64 per buffer
    src = torch.rand(n, dtype=torch.float64, device=dev)
    dst = torch.empty_like(src)
    ms = median_ms(lambda: dst.copy_(src))
    print(f"copy: {2 * src.numel() * 8 / ms / 1e6:.0f} GB/s (read + write)")
    for dtype, tf32, m in ((torch.float64, False, 8192), (torch.float32, False, 8192), (torch.float32, True, 8192)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        a = torch.rand(m, m, dtype=dtype, device=dev)
        b = torch.rand(m, m, dtype=dtype, device=dev)
        ms = median_ms(lambda: a @ b, reps=10)
        name = {torch.float64: "f64", torch.float32: "tf32" if tf32 else "f32"}[dtype]
        print(f"gemm {name}: {2 * m ** 3 / ms / 1e9:.1f} TFLOP/s ({m}^3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
