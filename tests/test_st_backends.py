"""The pure parts of nlp_assets.st_backends (the measuring itself needs .venv/st-backends and runs in the notebook)."""

from __future__ import annotations

import numpy as np
import pytest

from nlp_assets import st_backends as sb


def test_row_cosines_pairs_rows_and_ignores_length():
    a = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]])
    b = np.array([[5.0, 0.0], [1.0, 0.0], [-3.0, -4.0]])
    np.testing.assert_allclose(sb.row_cosines(a, b), [1.0, 0.0, -1.0])


def test_row_cosines_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        sb.row_cosines(np.ones((2, 3)), np.ones((3, 3)))


def test_files_bytes_sums_the_files(tmp_path):
    (tmp_path / "model.xml").write_bytes(b"x" * 10)
    (tmp_path / "model.bin").write_bytes(b"y" * 32)
    assert sb.files_bytes([tmp_path / "model.xml", tmp_path / "model.bin"]) == 42


def _variant(name, probe, rr=None):
    return sb.Variant(name, size_bytes=2_000_000, build_s=1.0, probe=np.asarray(probe, dtype=float),
                      rr=None if rr is None else np.asarray(rr, dtype=float))


def test_summary_rows_compare_with_torch_only_where_both_were_gated():
    gold = np.repeat(np.arange(50), 4)  # 200 questions on 50 paragraphs
    rng = np.random.default_rng(0)
    torch_rr = rng.choice([1.0, 0.5, 0.0], size=200)
    probe = np.eye(3)
    rows = sb.summary_rows([_variant("torch", probe, torch_rr), _variant("same", probe, torch_rr),
                            _variant("worse", probe[::-1], np.zeros(200)), _variant("ungated", probe)], gold)
    by_name = {row["variant"]: row for row in rows}
    assert by_name["torch"]["MRR@10 - torch [95% CI]"] == ""
    assert by_name["same"]["MRR@10 - torch [95% CI]"].startswith("+0.0000 [+0.0000, +0.0000]")
    worse = by_name["worse"]["MRR@10 - torch [95% CI]"]
    assert worse.startswith(f"{-np.mean(torch_rr):+.4f}") and worse.endswith("]")
    assert by_name["worse"]["cosine to torch (min)"] == 0.0  # rows swapped: two of three probe vectors disagree
    assert by_name["ungated"]["MRR@10"] is None and by_name["ungated"]["cosine to torch (mean)"] == 1.0


def test_summary_rows_needs_the_baseline():
    with pytest.raises(ValueError, match="baseline"):
        sb.summary_rows([_variant("onnx", np.eye(2))], gold=[0, 1])


def test_format_table_aligns_columns_and_shows_missing_values():
    text = sb.format_table([{"variant": "torch", "MRR@10": 0.9181}, {"variant": "onnx int8", "MRR@10": None}])
    lines = text.splitlines()
    assert lines[0].split() == ["variant", "MRR@10"]
    assert lines[2].split() == ["onnx", "int8", "-"]
    assert len({line.index(line.split()[-1]) for line in lines}) == 1  # the last column starts at one place
    assert sb.format_table([]) == ""
