import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from nlp_assets import benchmark
from nlp_assets.benchmark import Measurement


def test_median_ms_measures_the_call_and_rejects_bad_arguments() -> None:
    assert 15 <= benchmark.median_ms(lambda: time.sleep(0.02), warmup=0, repeats=3) < 200
    with pytest.raises(ValueError, match="repeats >= 1"):
        benchmark.median_ms(lambda: None, repeats=0)


def test_compare_latency_reports_the_speed_up_of_a_faster_variant() -> None:
    variants = {"slow": lambda: time.sleep(0.008), "fast": lambda: time.sleep(0.002)}
    comparison = benchmark.compare_latency(variants, baseline="slow", warmup=1, rounds=9)
    table = comparison.table()
    assert list(table.index) == ["slow", "fast"]
    assert list(table.columns) == ["median ms", "speed-up (median)", "speed-up IQR low", "speed-up IQR high"]
    fast = table.loc["fast"]
    assert 2.5 < fast["speed-up (median)"] < 5
    assert fast["speed-up IQR low"] <= fast["speed-up (median)"] <= fast["speed-up IQR high"]
    assert table.loc["slow"].tolist()[1:] == [1.0, 1.0, 1.0]
    assert 8 <= comparison.medians_ms["slow"] < 50 and 2 <= comparison.medians_ms["fast"] < 20
    assert table.loc["fast", "median ms"] == round(comparison.medians_ms["fast"], 2)


def test_compare_latency_takes_the_median_and_quartiles_of_the_per_round_ratios(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A fake clock: each call advances it by that variant's next duration in ms, so every ratio is exact.
    clock = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: clock[0] / 1000)

    def takes(*durations_ms: float) -> Callable[[], None]:
        durations = iter(durations_ms)

        def call() -> None:
            clock[0] += next(durations)

        return call

    variants = {"base": takes(2, 4, 6, 8, 10), "fast": takes(2, 4, 2, 4, 2)}
    comparison = benchmark.compare_latency(variants, baseline="base", warmup=0, rounds=5)
    assert comparison.round_ms == {"base": pytest.approx((2, 4, 6, 8, 10)), "fast": pytest.approx((2, 4, 2, 4, 2))}
    assert comparison.speed_ups("fast") == pytest.approx([1, 1, 3, 2, 5])  # baseline ms / variant ms, per round
    assert comparison.medians_ms == pytest.approx({"base": 6, "fast": 2})
    # The median ratio (2) is not the ratio of the medians (6 / 2 = 3).
    assert comparison.table().loc["fast"].tolist() == [2.0, 2.0, 1.0, 3.0]


def test_compare_latency_interleaves_the_rounds_alternating_their_order() -> None:
    calls: list[str] = []
    variants = {name: (lambda name=name: calls.append(name)) for name in "ABC"}
    benchmark.compare_latency(variants, baseline="A", warmup=2, rounds=4)
    warmup = list("ABC" * 2)
    assert calls == warmup + list("ABC" + "CBA" + "ABC" + "CBA")


def test_compare_latency_rejects_bad_arguments() -> None:
    variants = {"fp32": lambda: None, "int8": lambda: None}
    with pytest.raises(ValueError, match="baseline 'bf16' is not among the variants"):
        benchmark.compare_latency(variants, baseline="bf16")
    with pytest.raises(ValueError, match="variants is empty"):
        benchmark.compare_latency({}, baseline="fp32")
    with pytest.raises(ValueError, match="rounds >= 1.*rounds=0"):
        benchmark.compare_latency(variants, baseline="fp32", rounds=0)
    with pytest.raises(ValueError, match="warmup >= 0.*warmup=-1"):
        benchmark.compare_latency(variants, baseline="fp32", warmup=-1)


def test_onnx_session_is_configured_and_computes_what_torch_does(tmp_path: Path) -> None:
    model, x = torch.nn.Linear(8, 3).eval(), torch.randn(2, 8)
    path = tmp_path / "linear.onnx"
    torch.onnx.export(model, (x,), path, input_names=["x"], output_names=["y"])
    session = benchmark.onnx_session(path, threads=2)
    options = session.get_session_options()
    assert options.intra_op_num_threads == 2
    assert options.inter_op_num_threads == 1
    assert options.execution_mode.name == "ORT_SEQUENTIAL"
    assert options.graph_optimization_level.name == "ORT_ENABLE_ALL"
    assert session.get_providers() == ["CPUExecutionProvider"]
    (y,) = session.run(None, {"x": x.numpy()})
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(y), model(x))


def test_onnx_session_rejects_a_missing_file_and_bad_threads(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no ONNX model at .*missing.onnx"):
        benchmark.onnx_session(tmp_path / "missing.onnx", threads=1)
    with pytest.raises(ValueError, match="threads >= 1, got 0"):
        benchmark.onnx_session(tmp_path / "missing.onnx", threads=0)


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


def test_pin_threads_rejects_fewer_than_one_thread() -> None:
    with pytest.raises(ValueError, match="threads >= 1, got 0"):
        benchmark.pin_threads(0)


def test_pareto_plot_has_a_speed_and_a_size_panel() -> None:
    results = [Measurement("fp32", {32: 100.0}, 4_000_000, 0.80), Measurement("int8", {32: 25.0}, 1_000_000, 0.78)]
    fig = benchmark.pareto_plot(results, baseline="fp32", batch=32, quality_label="Spearman")
    assert [ax.get_xlabel() for ax in fig.axes] == ["speed-up @ batch 32 (vs fp32, higher is better)",
                                                   "x smaller (vs fp32, higher is better)"]


def test_has_bf16_units_agrees_with_the_features_machine_lists() -> None:
    listed = benchmark.machine().split("; ")[-1].split(", ")
    assert benchmark.has_bf16_units() == ("avx512_bf16" in listed or "amx_bf16" in listed)


def test_bf16_available_follows_the_cpu_units_without_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert benchmark.bf16_available() == benchmark.has_bf16_units()
