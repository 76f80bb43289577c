"""sentence-transformers' ONNX Runtime and OpenVINO backends on all-MiniLM-L6-v2, measured on the quality gate.

These backends go through Hugging Face Optimum (`optimum-onnx`, `optimum-intel`), whose releases pin transformers 4
(optimum-onnx 0.1.0: transformers<4.58), while the collection runs transformers 5. So this runs in its own environment,
`.venv/st-backends` (from requirements-st-backends-lock.txt; `make` builds it). From the collection's root:

    .venv/st-backends/bin/python -m nlp_assets.st_backends          # a table
    .venv/st-backends/bin/python -m nlp_assets.st_backends --json   # one JSON object (what the notebook reads)

Variants: `backend="torch"`, `backend="onnx"`, `backend="openvino"` (the last two exported from the cached upstream
files on load), and the int8 ONNX model that `export_dynamic_quantized_onnx_model` writes, loaded back with
`model_kwargs={"file_name": ...}`. Each one reports its model file size, the cosine of its sentence vectors to torch's
on a probe of questions and paragraphs, and (unless left out with `--gate`) the quality gate of the optimization
notebooks: Disfl-QA question -> paragraph MRR@10 on 1,000 questions over 200 paragraphs, per question, with a paired
95% CI against torch when torch is gated too. Exports go to a temporary folder; the Hugging Face cache is only read.
From `nlp_assets` it uses only `encoder_eval` (numpy, scipy), so it runs in the small environment.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlp_assets import encoder_eval as ev

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
# The quantization preset of `export_dynamic_quantized_onnx_model` for this CPU family: AVX512-VNNI multiplies u8
# activations by s8 weights into int32 sums in one instruction (VPDPBUSD), so full-range 8-bit weights are safe; the
# "avx2"/"avx512" presets target CPUs whose u8*s8 multiply-add saturates at int16. Use "arm64" on ARM.
QUANTIZATION = "avx512_vnni"
VARIANTS = ("torch", "onnx", "openvino", f"onnx int8 ({QUANTIZATION})")
GATE_PASSAGES, GATE_QUERIES = 200, 1000  # the quality gate of the optimization notebooks
PROBE_QUERIES, PROBE_PASSAGES = 64, 32  # the texts the cosines to torch are computed on


@dataclass
class Variant:
    """One way of running the model: what it took to build, its size, its vectors for the probe, its gate scores."""

    name: str
    size_bytes: int
    build_s: float  # seconds to load it (exporting or quantizing it, and saving the export)
    probe: np.ndarray  # L2-normalised vectors of the probe texts
    rr: np.ndarray | None = None  # reciprocal rank@10 of each gate question; None when not gated
    notes: dict[str, str] = field(default_factory=dict)


def row_cosines(a: Any, b: Any) -> np.ndarray:
    """Cosine of row i of `a` with row i of `b` (the vectors need not be normalised)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"need two matrices of the same shape, got {a.shape} and {b.shape}")
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def files_bytes(paths: Sequence[str | Path]) -> int:
    """Total size on disk of the files that make up one model (e.g. OpenVINO's .xml and .bin)."""
    return sum(Path(p).stat().st_size for p in paths)


def summary_rows(variants: Sequence[Variant], gold: Sequence[int], baseline: str = "torch") -> list[dict[str, Any]]:
    """One row per variant: size, cosine to the baseline on the probe, MRR@10 and, when both were gated, the paired
    95% CI of the MRR@10 difference to the baseline (resampling paragraphs with all their questions)."""
    base = next((v for v in variants if v.name == baseline), None)
    if base is None:
        raise ValueError(f"the baseline {baseline!r} is not among the variants")
    rows = []
    for v in variants:
        cos = row_cosines(v.probe, base.probe)
        row: dict[str, Any] = {"variant": v.name, "size MB": round(v.size_bytes / 1e6, 1),
                               "load s": round(v.build_s, 1), "cosine to torch (mean)": round(float(cos.mean()), 5),
                               "cosine to torch (min)": round(float(cos.min()), 5), "MRR@10": None,
                               "MRR@10 - torch [95% CI]": ""}
        if v.rr is not None:
            row["MRR@10"] = round(float(np.mean(v.rr)), 4)
            if base.rr is not None and v is not base:
                row["MRR@10 - torch [95% CI]"] = ev.gate_difference(v.rr, base.rr, gold).interval(4)
        rows.append(row)
    return rows


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows of equal keys as a plain fixed-width text table (None shows as '-')."""
    if not rows:
        return ""
    columns = list(rows[0])
    cells = [[("-" if row[c] is None else str(row[c])) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _encode(model: Any, texts: Sequence[str]) -> np.ndarray:
    return model.encode(list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True)


def _gate_rr(model: Any, gate: ev.RetrievalSet) -> np.ndarray:
    return ev.reciprocal_ranks(_encode(model, gate.queries), _encode(model, gate.passages), gate.gold)


def _openvino_precision() -> str:
    import openvino

    # OpenVINO's default on a CPU with bf16 units (AVX512-BF16, AMX) is to compute in bf16, on others in fp32.
    return openvino.Core().get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name()


def measure(gated: Sequence[str] = VARIANTS, workdir: Path | None = None) -> tuple[list[Variant], ev.RetrievalSet]:
    """Load every variant, offline, and measure it (the gate only for the names in `gated`)."""
    from huggingface_hub import snapshot_download
    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

    gate = ev.disfl_qa(n_passages=GATE_PASSAGES, max_queries=GATE_QUERIES)
    probe_texts = gate.queries[:PROBE_QUERIES] + gate.passages[:PROBE_PASSAGES]
    # The backends decide whether to export by listing the model's files, which needs the Hub unless given a folder:
    # give them the cached snapshot (read only: the exports are kept in memory, then saved to `workdir`).
    snapshot = Path(snapshot_download(MODEL_ID, local_files_only=True))
    workdir = workdir or Path(tempfile.mkdtemp(prefix="st-backends-"))
    variants = []

    def add(name: str, model: Any, files: Sequence[Path], started: float, **notes: str) -> None:
        built = time.perf_counter() - started
        v = Variant(name, files_bytes(files), built, _encode(model, probe_texts), notes=dict(notes))
        if name in gated:
            v.rr = _gate_rr(model, gate)
        variants.append(v)

    started = time.perf_counter()
    add("torch", SentenceTransformer(MODEL_ID, device="cpu"), [snapshot / "model.safetensors"], started)
    started = time.perf_counter()
    onnx_model = SentenceTransformer(str(snapshot), device="cpu", backend="onnx")
    onnx_model.save_pretrained(str(workdir / "onnx"))
    add("onnx", onnx_model, [workdir / "onnx" / "onnx" / "model.onnx"], started)
    started = time.perf_counter()
    export_dynamic_quantized_onnx_model(onnx_model, QUANTIZATION, str(workdir / "onnx"))
    int8_file = f"onnx/model_qint8_{QUANTIZATION}.onnx"
    int8_model = SentenceTransformer(str(workdir / "onnx"), device="cpu", backend="onnx",
                                     model_kwargs={"file_name": int8_file})
    add(VARIANTS[3], int8_model, [workdir / "onnx" / int8_file], started)
    started = time.perf_counter()
    ov_model = SentenceTransformer(str(snapshot), device="cpu", backend="openvino")
    ov_model.save_pretrained(str(workdir / "openvino"))
    ov_dir = workdir / "openvino" / "openvino"
    add("openvino", ov_model, [ov_dir / "openvino_model.xml", ov_dir / "openvino_model.bin"], started,
        inference_precision=_openvino_precision())
    return variants, gate


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--gate", nargs="*", default=list(VARIANTS), choices=VARIANTS, metavar="VARIANT",
                        help=f"variants to run the quality gate on (default: all of {', '.join(VARIANTS)})")
    args = parser.parse_args(argv)
    import sentence_transformers
    import transformers

    with tempfile.TemporaryDirectory(prefix="st-backends-") as workdir:
        variants, gate = measure(args.gate, Path(workdir))
    rows = summary_rows(variants, gate.gold)
    versions = {"sentence-transformers": sentence_transformers.__version__, "transformers": transformers.__version__}
    notes = {v.name: v.notes for v in variants if v.notes}
    if args.json:
        print(json.dumps({"versions": versions, "gate": {"queries": len(gate.queries), "passages": len(gate.passages)},
                          "rows": rows, "notes": notes,
                          "rr": {v.name: v.rr.tolist() for v in variants if v.rr is not None}}))
    else:
        print(", ".join(f"{k} {v}" for k, v in versions.items()), notes)
        print(format_table(rows))


if __name__ == "__main__":
    main()
