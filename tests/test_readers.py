from nlp_assets import readers


def test_austen_novels_are_the_six_novels() -> None:
    novels = readers.austen_novels()
    assert sorted(novels) == ["emma", "mansfieldpark", "northangerabbey", "persuasion", "prideprejudice",
                              "sensesensibility"]
    pride = novels["prideprejudice"]
    assert pride[0] == "PRIDE AND PREJUDICE"
    assert any(line.startswith("It is a truth universally acknowledged") for line in pride[:20])


def test_paragraphs_join_lines_and_split_on_blank_lines() -> None:
    assert readers.paragraphs(["It is a truth", "universally acknowledged.", "", "", "However little"]) == (
        "It is a truth universally acknowledged.\nHowever little")


def test_lee_2005_pairs_follow_the_upper_triangle() -> None:
    docs, scores = readers.lee_2005()
    assert len(docs) == 50 and len(scores) == 50 * 49 // 2
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_disfl_qa_splits_question_from_paragraph() -> None:
    examples = readers.disfl_qa()
    assert len(examples) == 8000
    assert all("\ncontext:" not in e.question and e.context == e.context.strip() for e in examples)
    assert sum(e.target == "unknown" for e in examples) == 2107  # SQuAD v2's unanswerable questions
    first = examples[0]
    assert first.question.endswith("atmosphere ?") and first.context.startswith("The common allotrope of elemental")
