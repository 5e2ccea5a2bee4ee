"""Fine-tuning batches: no question is ever an in-batch negative for its own answer."""

from __future__ import annotations

from datasets import Dataset

from featureship.tasks.answer_retrieval.contrastive import batching, one_answer_per_batch


def pairs(answers: int, per_answer: int) -> tuple[list[str], list[str], list[str]]:
    keys = [f"a{a}" for a in range(answers) for _ in range(per_answer)]
    anchors = [f"question {i} about {k}" for i, k in enumerate(keys)]
    positives = [f"reply of {k}" if i % 2 else f"question {i + 1} about {k}" for i, k in enumerate(keys)]
    return anchors, positives, keys


def epoch_batches(anchors: list[str], positives: list[str], keys: list[str], size: int,
                  epoch: int) -> list[list[int]]:
    sampler = one_answer_per_batch(anchors, positives, keys)(
        Dataset.from_dict({"anchor": anchors, "positive": positives}), batch_size=size,
        drop_last=False, seed=0)
    sampler.set_epoch(epoch)
    return list(sampler)


def test_a_batch_holds_one_pair_per_answer_and_every_pair_once_an_epoch() -> None:
    anchors, positives, keys = pairs(answers=12, per_answer=6)
    batches = epoch_batches(anchors, positives, keys, 8, epoch=0)
    for batch in batches:
        assert len({keys[i] for i in batch}) == len(batch)
        texts = [anchors[i] for i in batch] + [positives[i] for i in batch]
        assert len(set(texts)) == len(texts)
    assert sorted(i for batch in batches for i in batch) == list(range(len(keys)))
    assert max(len(b) for b in batches) == 8
    assert batches != epoch_batches(anchors, positives, keys, 8, epoch=1)  # reshuffled


def test_batches_shrink_to_the_number_of_answers() -> None:
    anchors, positives, keys = pairs(answers=4, per_answer=10)
    size, sampler = batching(anchors, positives, keys, 32)
    assert size == 4 and sampler is not None and not isinstance(sampler, str)


def test_a_skewed_knowledge_base_falls_back_to_text_only_duplicates() -> None:
    # one answer has more pairs than there are batches: keeping them apart would end each pass
    # in batches of that answer alone
    anchors, positives, keys = pairs(answers=10, per_answer=4)
    keys = keys + ["a0"] * 60
    anchors = anchors + [f"extra {i}" for i in range(60)]
    positives = positives + ["reply of a0"] * 60
    size, sampler = batching(anchors, positives, keys, 8)
    assert (size, sampler) == (8, "no_duplicates")
