"""The sentiment recipe's pieces: binarising, the splits, the probe-initialised head, saving and loading."""

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from transformers import BertConfig, BertModel

from nlp_assets import sentiment


def frame(ratings: list[float], prefix: str) -> pd.DataFrame:
    return pd.DataFrame({"rating": ratings, "text": [f"{prefix} {i}" for i in range(len(ratings))]})


def test_binarise_drops_the_neutral_band_and_labels_by_sign():
    out = sentiment.binarise(frame([-2.0, -0.4, 0.0, 0.5, 3.1], "t"), neutral_band=0.5)
    assert out.rating.tolist() == [-2.0, 0.5, 3.1] and out.label.tolist() == [0, 1, 1]


def test_splits_are_disjoint_deduplicated_and_sized():
    movie = pd.concat([frame([1.0, -1.0] * 10, "m"), frame([1.0], "m")])  # "m 0" twice
    binary = {"movie": sentiment.binarise(movie, 0.5), "amazon": sentiment.binarise(frame([1, -1, 2], "a"), 0.5),
              "tweets": sentiment.binarise(frame([1.0] * 8, "t"), 0.5)}
    parts = sentiment.splits(binary, dev_size=5, in_domain_tweets=3, seed=0)
    assert len(parts["train"]) == 15 and len(parts["dev"]) == 5  # 20 unique movie texts
    assert not set(parts["train"].text) & set(parts["dev"].text)
    assert len(parts["tweets in domain"]) == 3 and len(parts["tweets"]) == 5
    assert not set(parts["tweets in domain"].text) & set(parts["tweets"].text)
    assert parts["train"].equals(sentiment.splits(binary, 5, 3, seed=0)["train"])  # seeded


def tiny_classifier() -> sentiment.MeanPoolingClassifier:
    config = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16)
    torch.manual_seed(0)
    return sentiment.MeanPoolingClassifier(BertModel(config), sentiment.LABELS).eval()


def test_head_from_probe_gives_the_probe_probability():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 8)).astype(np.float32)
    probe = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    model = tiny_classifier()
    sentiment.init_head_from_probe(model.head, probe)
    with torch.no_grad():
        p_head = model.head(torch.from_numpy(x)).softmax(-1)[:, 1].numpy()
    assert np.allclose(p_head, probe.predict_proba(x)[:, 1], atol=1e-5)


def test_save_and_load_give_the_same_logits(tmp_path):
    model = tiny_classifier()
    batch = {"input_ids": torch.tensor([[1, 5, 7, 2]]), "attention_mask": torch.tensor([[1, 1, 1, 0]])}
    model.save_pretrained(tmp_path)
    loaded = sentiment.MeanPoolingClassifier.from_pretrained(str(tmp_path)).eval()
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, loaded(**batch).logits)
    assert loaded.config.id2label == {0: "negative", 1: "positive"}
