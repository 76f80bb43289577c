import numpy as np
import pytest
import torch

from nlp_assets import encoder_eval as ev


def test_mean_pool_ignores_padding_and_normalises() -> None:
    hidden = torch.tensor([[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]]])  # the third token is padding
    mask = torch.tensor([[1, 1, 0]])
    pooled = ev.mean_pool(hidden, mask)
    assert torch.allclose(pooled, torch.tensor([[1.0, 0.0]]))  # mean (2, 0), then unit length


def test_reciprocal_ranks_on_a_toy_ranking_computed_by_hand() -> None:
    passages = np.eye(4)
    # Query 0: gold 0 scores highest -> rank 1. Query 1: gold 2 is second -> 1/2. Query 2: gold 3 last -> rank 4.
    queries = np.array([[0.9, 0.1, 0.0, 0.0], [0.5, 0.0, 0.2, 0.1], [0.4, 0.3, 0.2, 0.1]])
    rr = ev.reciprocal_ranks(queries, passages, [0, 2, 3], k=10)
    assert np.allclose(rr, [1.0, 1 / 2, 1 / 4])
    assert np.allclose(ev.reciprocal_ranks(queries, passages, [0, 2, 3], k=3), [1.0, 1 / 2, 0.0])


def test_gate_ci_resamples_passages_and_a_worse_system_is_detected() -> None:
    rng = np.random.default_rng(0)
    gold = np.repeat(np.arange(200), 5)  # 200 passages with 5 questions each
    good = rng.uniform(0.6, 1.0, size=gold.size)
    worse = good - 0.1
    estimate = ev.gate_estimate(good, gold)
    assert estimate.n == 200 and estimate.low < good.mean() < estimate.high
    diff = ev.gate_difference(worse, good, gold)
    assert diff.verdict == "B better" and diff.high < 0
    assert ev.gate_difference(good, good, gold).verdict == "inconclusive"


def test_similarity_spearman_is_one_for_a_rotation_and_lower_for_noise() -> None:
    rng = np.random.default_rng(1)
    v = rng.normal(size=(30, 8))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    rotation, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    assert ev.similarity_spearman(v @ rotation, v) == pytest.approx(1.0)
    noisy = v + rng.normal(scale=0.5, size=v.shape)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    assert ev.similarity_spearman(noisy, v) < 0.95


class _Tokenizer:
    """Each word one token of id len(word); pads with 0."""

    def __call__(self, texts, padding, truncation, max_length, return_tensors):
        ids = [[len(w) for w in t.split()][:max_length] for t in texts]
        width = max(map(len, ids))
        return {"input_ids": torch.tensor([i + [0] * (width - len(i)) for i in ids]),
                "attention_mask": torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i in ids])}


def test_embed_keeps_the_input_order_and_accepts_a_forward_function() -> None:
    def forward(batch):  # hidden state of a token: (id, 1)
        return torch.stack([batch["input_ids"].float(), torch.ones_like(batch["input_ids"]).float()], dim=-1)

    texts = ["a", "abcd abcd abcd", "ab"]  # lengths differ, so embed reorders internally
    vectors = ev.embed(forward, _Tokenizer(), texts, batch_size=2)
    expected = torch.nn.functional.normalize(torch.tensor([[1.0, 1.0], [4.0, 1.0], [2.0, 1.0]]), dim=-1)
    assert torch.allclose(vectors, expected)
    with pytest.raises(ValueError, match="non-empty"):
        ev.embed(forward, _Tokenizer(), ["fine", "  "])


def test_speed_up_uses_per_round_ratios_between_any_two_variants() -> None:
    from nlp_assets.benchmark import LatencyComparison

    comparison = LatencyComparison("base", {"base": (10.0, 10.0, 10.0), "a": (4.0, 5.0, 4.0), "b": (2.0, 2.5, 1.0)})
    low, mid, high = ev.speed_up(comparison, "a", "b")
    assert mid == 2.0 and low <= mid <= high == 3.0


def test_protocol_refuses_a_variant_before_the_baseline() -> None:
    gate = ev.RetrievalSet(["q"], ["p"], np.array([0]))
    protocol = ev.Protocol(_Tokenizer(), gate, ["doc one", "doc two"], [0.5])
    with pytest.raises(ValueError, match="baseline"):
        protocol.add("int8", lambda batch: batch, 1)


def test_evaluate_keeps_the_passage_vectors_behind_its_reciprocal_ranks() -> None:
    def forward(batch):  # hidden state of a token: (id, 1)
        return torch.stack([batch["input_ids"].float(), torch.ones_like(batch["input_ids"]).float()], dim=-1)

    gate = ev.RetrievalSet(["ab", "abcd"], ["a", "ab", "abcd abcd"], np.array([1, 2]))
    quality = ev.evaluate(forward, _Tokenizer(), gate, ["doc one", "doc two"])
    assert torch.allclose(quality.passage_vectors, ev.embed(forward, _Tokenizer(), gate.passages))
    assert np.allclose(quality.rr, ev.reciprocal_ranks(quality.query_vectors, quality.passage_vectors, gate.gold))
    assert quality.rr.tolist() == [1.0, 1.0]
