"""The NER recipe's pure pieces: reading CoNLL files, aligning labels to word pieces, scoring, and the saved log."""

from types import SimpleNamespace

import numpy as np

from nlp_assets import ner

CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER
"""


def test_read_conll_skips_docstart_and_keeps_the_last_sentence(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text(CONLL, encoding="utf-8")
    assert ner.read_conll(path) == [(["EU", "rejects", "German"], ["B-ORG", "O", "B-MISC"]),
                                    (["Peter", "Blackburn"], ["B-PER", "I-PER"])]


def test_align_labels_labels_first_pieces_only():
    # [CLS] peter black ##burn [SEP]: word 1 has two pieces
    assert ner.align_labels([None, 0, 1, 1, None], [1, 2]) == [-100, 1, 2, -100, -100]


def test_seqeval_f1_scores_entities_over_labelled_positions():
    labels = np.array([[-100, 1, 2, 0, -100]])  # B-PER I-PER O
    exact = np.eye(len(ner.LABELS))[[0, 1, 2, 0, 0]][None]  # logits whose argmax is the gold tag
    cut_short = np.eye(len(ner.LABELS))[[0, 1, 0, 0, 0]][None]  # B-PER O O: wrong boundary
    assert ner.seqeval_f1((exact, labels), ner.LABELS) == {"f1": 1.0}
    assert ner.seqeval_f1((cut_short, labels), ner.LABELS) == {"f1": 0.0}


def test_training_log_keeps_losses_and_checks_and_the_kept_step():
    history = [{"step": 20, "epoch": 0.1, "loss": 0.8, "learning_rate": 1e-4, "grad_norm": 2.0},
               {"step": 40, "epoch": 0.2, "eval_f1": 0.7, "eval_runtime": 3.1},
               {"step": 40, "train_runtime": 30.0}]
    state = SimpleNamespace(log_history=history, best_model_checkpoint="/tmp/x/checkpoint-40", best_metric=0.7,
                            global_step=40)
    log = ner.training_log(SimpleNamespace(state=state))
    assert log == {"log_history": [{"step": 20, "epoch": 0.1, "loss": 0.8}, {"step": 40, "epoch": 0.2, "eval_f1": 0.7}],
                   "best_step": 40, "best_metric": 0.7}
