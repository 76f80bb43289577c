import time
from pathlib import Path

import pytest
import torch

from nlp_assets import benchmark
from nlp_assets.benchmark import Measurement


def test_median_ms_measures_the_call_and_rejects_bad_arguments() -> None:
    assert 15 <= benchmark.median_ms(lambda: time.sleep(0.02), warmup=0, repeats=3) < 200
    with pytest.raises(ValueError, match="repeats >= 1"):
        benchmark.median_ms(lambda: None, repeats=0)


def test_model_bytes_counts_parameters_and_buffers_once() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.BatchNorm1d(20))
    params = (10 * 20 + 20) + (20 + 20)
    buffers = 20 + 20  # running mean and var; num_batches_tracked is one int64
    assert benchmark.model_bytes(model) == 4 * (params + buffers) + 8
    tied = torch.nn.Sequential(model[0], model[0])
    assert benchmark.model_bytes(tied) == 4 * (10 * 20 + 20)


def test_quantized_weights_are_counted_by_their_inner_tensors() -> None:
    from torchao.quantization import Int8WeightOnlyConfig, quantize_

    model = torch.nn.Sequential(torch.nn.Linear(256, 256, bias=False))
    fp32 = benchmark.model_bytes(model)
    quantize_(model, Int8WeightOnlyConfig())
    int8 = benchmark.model_bytes(model)
    assert fp32 == 256 * 256 * 4
    assert 256 * 256 <= int8 < 256 * 256 * 1.1  # one byte per weight plus a scale per row


def test_disk_bytes_of_file_and_folder(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"x" * 5)
    assert benchmark.disk_bytes(tmp_path / "a") == 10
    assert benchmark.disk_bytes(tmp_path) == 15
    with pytest.raises(FileNotFoundError, match="nothing to measure"):
        benchmark.disk_bytes(tmp_path / "missing")


def test_pareto_front_keeps_only_undominated_points() -> None:
    # x: cost (lower is better), y: quality (higher is better)
    points = [(1.0, 0.9), (0.5, 0.8), (0.6, 0.7), (1.0, 0.9), (2.0, 0.95)]
    assert benchmark.pareto_front(points) == [0, 1, 3, 4]


def test_results_table_gives_ratios_to_the_baseline() -> None:
    results = [
        Measurement("fp32", {1: 10.0, 32: 100.0}, 4_000_000, 0.80),
        Measurement("int8", {1: 5.0, 32: 25.0}, 1_000_000, 0.78),
    ]
    table = benchmark.results_table(results, baseline="fp32")
    assert table.loc["int8", "speed-up @ batch 32"] == 4.0
    assert table.loc["int8", "x smaller"] == 4.0
    assert table.loc["int8", "quality / baseline"] == 0.975
    assert table.loc["fp32", "speed-up @ batch 1"] == 1.0
    with pytest.raises(ValueError, match="baseline 'bf16' is not among"):
        benchmark.results_table(results, baseline="bf16")


def test_machine_names_threads_and_features() -> None:
    threads = torch.get_num_threads()
    benchmark.pin_threads(1)
    try:
        assert "torch threads 1" in benchmark.machine()
    finally:
        benchmark.pin_threads(threads)


def test_pareto_plot_has_a_speed_and_a_size_panel() -> None:
    results = [Measurement("fp32", {32: 100.0}, 4_000_000, 0.80), Measurement("int8", {32: 25.0}, 1_000_000, 0.78)]
    fig = benchmark.pareto_plot(results, baseline="fp32", batch=32, quality_label="Spearman")
    assert [ax.get_xlabel() for ax in fig.axes] == ["speed-up @ batch 32 (vs fp32, higher is better)",
                                                   "x smaller (vs fp32, higher is better)"]


def test_has_bf16_units_agrees_with_the_features_machine_lists() -> None:
    listed = benchmark.machine().split("; ")[-1].split(", ")
    assert benchmark.has_bf16_units() == ("avx512_bf16" in listed or "amx_bf16" in listed)
