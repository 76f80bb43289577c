"""The one measurement helper of the optimization notebooks: latency, size, and the results table and Pareto plot.

Latency is the median of repeated runs after a warm-up. Variants that are compared go through `compare_latency`,
which times them in interleaved rounds so that slow drift of the machine hits each alike, and reports each
variant's speed-up as the median and interquartile range of its per-round ratios to the baseline. There is one
thread setting: `pin_threads(n)` for torch and `onnx_session(path, n)` for ONNX Runtime, which is the one place
ONNX Runtime sessions are configured. Sizes are counted from the tensors themselves (parameters and buffers, the
inner tensors of quantized tensor subclasses included), never through `state_dict()`: on CPU that call corrupts a
bitsandbytes 4-bit model that has already run a forward pass. Timings only mean something next to the fp32 baseline
measured in the same run, on the machine `machine()` names.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import onnxruntime
    import pandas

# The instruction-set extensions that decide which low-precision kernels are fast on an x86 CPU.
CPU_FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")


@dataclass(frozen=True)
class Measurement:
    """One model variant, measured: milliseconds per call at each batch size, bytes, and a quality score."""

    name: str
    latency_ms: dict[int, float]
    size_bytes: int
    quality: float


def _check_threads(threads: int) -> None:
    if threads < 1:
        raise ValueError(f"need threads >= 1, got {threads}")


def pin_threads(threads: int) -> None:
    """Run torch's operators on `threads` threads."""
    import torch

    _check_threads(threads)
    torch.set_num_threads(threads)


def onnx_session(path: str | Path, threads: int) -> onnxruntime.InferenceSession:
    """A CPU ONNX Runtime session on `threads` intra-op threads (not spinning), one inter-op thread, all graph
    optimizations."""
    import onnxruntime as ort

    _check_threads(threads)
    if not Path(path).is_file():
        raise FileNotFoundError(f"no ONNX model at {path}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # No busy-waiting after a run: spinning threads would take the cores from whatever is timed next in this process.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def _cpu() -> tuple[str, set[str]]:
    """The CPU's model name and its instruction-set flags (empty where /proc/cpuinfo does not exist)."""
    model, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    return model, flags


def machine() -> str:
    """The CPU, its core count, torch's thread count and the relevant instruction-set extensions."""
    import torch

    model, flags = _cpu()
    features = ", ".join(f for f in CPU_FEATURES if f in flags) or "none of " + ", ".join(CPU_FEATURES)
    return f"{model}; {os.cpu_count()} cores, torch threads {torch.get_num_threads()}; {features}"


def has_bf16_units() -> bool:
    """Whether the CPU multiplies bf16 matrices natively (AVX512-BF16 or AMX-BF16); without them bf16 is slow."""
    return bool({"avx512_bf16", "amx_bf16"} & _cpu()[1])


def bf16_available() -> bool:
    """Whether bfloat16 autocast pays here: on a GPU that supports it, else on a CPU with native bf16 units."""
    import torch

    return torch.cuda.is_bf16_supported() if torch.cuda.is_available() else has_bf16_units()


def median_ms(fn: Callable[[], Any], warmup: int = 2, repeats: int = 7) -> float:
    """Median wall-clock milliseconds of `fn()` over `repeats` runs, after `warmup` untimed runs."""
    if warmup < 0 or repeats < 1:
        raise ValueError(f"need warmup >= 0 and repeats >= 1, got warmup={warmup}, repeats={repeats}")
    for _ in range(warmup):
        fn()
    return statistics.median(_ms(fn) for _ in range(repeats))


def _ms(fn: Callable[[], Any]) -> float:
    """Wall-clock milliseconds of one call of `fn()`."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


@dataclass(frozen=True)
class LatencyComparison:
    """Milliseconds of each variant in each round of `compare_latency`; speed-ups are relative to `baseline`.

    A speed-up here is the median of the per-round ratios, which can differ a little from the ratio of the medians
    that `results_table` computes from `medians_ms`.
    """

    baseline: str
    round_ms: dict[str, tuple[float, ...]]

    @property
    def medians_ms(self) -> dict[str, float]:
        """Each variant's median milliseconds, e.g. for `Measurement(name, {batch: medians_ms[name]}, ...)`."""
        return {name: statistics.median(ms) for name, ms in self.round_ms.items()}

    def speed_ups(self, name: str) -> list[float]:
        """The per-round ratios baseline ms / `name` ms (above 1: faster than the baseline)."""
        return [base / ms for base, ms in zip(self.round_ms[self.baseline], self.round_ms[name], strict=True)]

    def table(self) -> pandas.DataFrame:
        """Median ms and the median and interquartile range of the per-round speed-up, one row per variant."""
        import numpy as np
        import pandas as pd

        rows = {}
        for name, median in self.medians_ms.items():
            low, mid, high = np.percentile(self.speed_ups(name), [25, 50, 75])
            rows[name] = {
                "median ms": round(median, 2),
                "speed-up (median)": round(float(mid), 2),
                "speed-up IQR low": round(float(low), 2),
                "speed-up IQR high": round(float(high), 2),
            }
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("variant")


def compare_latency(
    variants: Mapping[str, Callable[[], Any]], baseline: str, warmup: int = 2, rounds: int = 15
) -> LatencyComparison:
    """Time the variants against `baseline` in interleaved rounds, after `warmup` untimed rounds.

    Each round calls every variant once: odd rounds in the given order (A, B, C), even rounds in reverse (C, B, A),
    so that neither drift of the machine nor a variant's place in the round favours one variant.
    """
    if not variants:
        raise ValueError("variants is empty: nothing to compare")
    if baseline not in variants:
        raise ValueError(f"baseline {baseline!r} is not among the variants: {sorted(variants)}")
    if warmup < 0 or rounds < 1:
        raise ValueError(f"need warmup >= 0 and rounds >= 1, got warmup={warmup}, rounds={rounds}")
    for _ in range(warmup):
        for fn in variants.values():
            fn()
    names = list(variants)
    round_ms: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        for name in names if i % 2 == 0 else reversed(names):
            round_ms[name].append(_ms(variants[name]))
    return LatencyComparison(baseline, {name: tuple(ms) for name, ms in round_ms.items()})


def tensor_bytes(tensor: Any) -> int:
    """Bytes a tensor holds; for tensor subclasses (torchao's quantized weights) the sum over their inner tensors."""
    if hasattr(tensor, "__tensor_flatten__"):
        inner_names, _ = tensor.__tensor_flatten__()
        return sum(tensor_bytes(getattr(tensor, name)) for name in inner_names)
    return tensor.numel() * tensor.element_size()


def model_bytes(model: Any) -> int:
    """Bytes of a torch module's parameters and buffers (shared tensors counted once), read without state_dict()."""
    tensors = {id(t): t for t in [*model.parameters(), *model.buffers()]}
    return sum(tensor_bytes(t) for t in tensors.values())


def disk_bytes(path: str | Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"nothing to measure at {path}")
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points that no other point beats on both axes (x lower is better, y higher is better)."""
    return [
        i for i, (x, y) in enumerate(points)
        if not any((ox <= x and oy >= y) and (ox < x or oy > y) for ox, oy in points)
    ]


def results_table(results: Sequence[Measurement], baseline: str):  # -> pandas.DataFrame
    """Each variant's speed-up and size reduction relative to `baseline` (the fp32 model measured in the same run)."""
    import pandas as pd

    by_name = {r.name: r for r in results}
    if baseline not in by_name:
        raise ValueError(f"baseline {baseline!r} is not among the results: {sorted(by_name)}")
    base = by_name[baseline]
    rows = []
    for r in results:
        row: dict[str, Any] = {"variant": r.name}
        for batch, ms in r.latency_ms.items():
            row[f"ms @ batch {batch}"] = round(ms, 1)
            row[f"speed-up @ batch {batch}"] = round(base.latency_ms[batch] / ms, 2)
        row["size MB"] = round(r.size_bytes / 1e6, 1)
        row["x smaller"] = round(base.size_bytes / r.size_bytes, 2)
        row["quality"] = round(r.quality, 3)
        row["quality / baseline"] = round(r.quality / base.quality, 3)
        rows.append(row)
    return pd.DataFrame(rows).set_index("variant")


def pareto_plot(results: Sequence[Measurement], baseline: str, batch: int, quality_label: str):  # -> Figure
    """Two panels, speed-up vs quality and size reduction vs quality, with each panel's Pareto front drawn."""
    import matplotlib.pyplot as plt

    table = results_table(results, baseline)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    for ax, column in zip(axes, [f"speed-up @ batch {batch}", "x smaller"], strict=True):
        xs, ys = table[column].tolist(), table["quality"].tolist()
        front = sorted(pareto_front([(-x, y) for x, y in zip(xs, ys, strict=True)]), key=lambda i: xs[i])
        ax.plot([xs[i] for i in front], [ys[i] for i in front], color="tab:gray", linestyle="--", zorder=1)
        ax.scatter(xs, ys, zorder=2)
        for name, x, y in zip(table.index, xs, ys, strict=True):
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.set_xlabel(f"{column} (vs {baseline}, higher is better)")
        ax.set_ylabel(quality_label)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
