"""The distillation recipe's pieces: the training text, the student, the in-batch similarity KL."""

import numpy as np
import torch
from transformers import BertConfig, BertModel

from nlp_assets import distillation


def test_training_text_keeps_gate_questions_out_and_splits_disjointly():
    questions = ["What is the capital of France ?", "Who wrote this old book ?", "Too short ?"]
    passages = ["Paris is the capital of France. It is big! Tiny. The Seine runs through the city of Paris."]
    train, held, n = distillation.training_text(questions, passages, ["Who wrote this old book ?"], held_out=1,
                                                train_size=10, rng=np.random.default_rng(0))
    assert n == 3  # 1 question + 2 passage sentences of 4+ words; the gate question and short ones are out
    assert len(held) == 1 and len(train) == 2 and not set(train) & set(held)
    assert "Who wrote this old book ?" not in train + held


def test_make_student_keeps_the_chosen_layers_and_leaves_the_teacher_alone():
    torch.manual_seed(0)
    teacher = BertModel(BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=4, num_attention_heads=2,
                                   intermediate_size=16)).eval()
    student = distillation.make_student(teacher, (0, 3))
    assert len(student.encoder.layer) == 2 and student.config.num_hidden_layers == 2
    assert len(teacher.encoder.layer) == 4
    assert torch.equal(student.encoder.layer[1].output.dense.weight, teacher.encoder.layer[3].output.dense.weight)


def test_in_batch_kl_is_zero_for_the_teacher_itself_and_matches_the_definition():
    noise = torch.randn(2, 5, 8, generator=torch.Generator().manual_seed(0))
    u_t = torch.nn.functional.normalize(noise[0], dim=-1)
    u_s = torch.nn.functional.normalize(u_t + 0.3 * noise[1], dim=-1)
    assert distillation.in_batch_kl(u_t, u_t, 0.05).item() < 1e-9
    others = ~torch.eye(5, dtype=torch.bool)
    p = ((u_t @ u_t.T)[others].view(5, 4) / 0.1).softmax(-1)
    q = ((u_s @ u_s.T)[others].view(5, 4) / 0.1).softmax(-1)
    by_hand = (p * (p / q).log()).sum(-1).mean()
    assert torch.allclose(distillation.in_batch_kl(u_s, u_t, 0.1), by_hand, atol=1e-6)
