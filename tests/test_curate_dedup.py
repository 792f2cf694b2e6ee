"""N-gram hashing, MinHash/LSH near-dup and n-gram decontamination on planted cases."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from curate_helpers import WORDS

from r1harness.curate.decontam import BenchmarkIndex, registered_benchmarks
from r1harness.curate.dedup import near_duplicate_keep, signatures
from r1harness.curate.ngrams import ngram_hashes, word_hashes


def test_ngram_hashes_count_and_respect_text_boundaries():
    wh = word_hashes(["a b c d", "e f", "", "a b c"])
    docs, grams = ngram_hashes(wh, 3)
    assert sorted(np.bincount(docs, minlength=4).tolist()) == sorted([2, 1, 0, 1])
    # "a b c" as a trigram in text 0 equals text 3's only trigram; the 2-word text gets one whole-text hash
    assert grams[docs == 3][0] in set(grams[docs == 0].tolist())
    assert len(ngram_hashes(wh, 3, short_whole=False)[0]) == 3


def _jaccard(a: str, b: str, n: int = 5) -> float:
    sa = {tuple(a.split()[i : i + n]) for i in range(len(a.split()) - n + 1)}
    sb = {tuple(b.split()[i : i + n]) for i in range(len(b.split()) - n + 1)}
    return len(sa & sb) / len(sa | sb)


def _mutate(rnd, text: str, n_edits: int) -> str:
    w = text.split()
    for _ in range(n_edits):
        w[rnd.randrange(len(w))] = rnd.choice(WORDS) + "x"
    return " ".join(w)


def test_minhash_estimates_track_true_jaccard_like_datasketch():
    from datasketch import MinHash

    rnd = random.Random(1)
    base = [" ".join(rnd.choice(WORDS) for _ in range(300)) for _ in range(12)]
    pairs = [(t, _mutate(rnd, t, e)) for t, e in zip(base, [0, 2, 5, 10, 20, 40, 60, 80, 120, 200, 300, 300])]
    sig = signatures([x for p in pairs for x in p], num_perm=256, shingle=5)
    for i, (a, b) in enumerate(pairs):
        true = _jaccard(a, b)
        ours = float((sig[2 * i] == sig[2 * i + 1]).mean())
        ma, mb = MinHash(num_perm=256, seed=1), MinHash(num_perm=256, seed=1)
        for m, t in ((ma, a), (mb, b)):
            w = t.split()
            m.update_batch([" ".join(w[j : j + 5]).encode() for j in range(len(w) - 4)])
        theirs = ma.jaccard(mb)
        assert abs(ours - true) < 0.12, (i, ours, true)
        assert abs(ours - theirs) < 0.15, (i, ours, theirs)


def test_near_duplicates_are_dropped_keeping_the_first_by_priority():
    rnd = random.Random(2)
    originals = [" ".join(rnd.choice(WORDS) for _ in range(200)) for _ in range(30)]
    texts = list(originals)
    texts += [_mutate(rnd, originals[i], 3) for i in range(10)]  # near duplicates of the first 10
    texts += [_mutate(rnd, originals[i], 150) for i in range(10, 15)]  # heavily rewritten: distinct
    keep = near_duplicate_keep(texts, threshold=0.7)
    assert keep[:30].all()
    assert not keep[30:40].any()
    assert keep[40:].all()
    # priority: with the duplicate listed first, the duplicate is the one kept
    swapped = near_duplicate_keep([texts[30], originals[0]], threshold=0.7)
    assert swapped.tolist() == [True, False]


@pytest.fixture
def aime_index(shared_data):
    problems = [json.loads(line)["problem"] for line in (shared_data / "aime24" / "aime24.jsonl").open()]
    return problems, BenchmarkIndex.build({"aime24": problems, "tiny": ["What is one plus one?"]}, ngram=8)


def test_decontamination_flags_planted_benchmark_problems(aime_index):
    problems, index = aime_index
    planted = "Solve this carefully. " + problems[3] + " Give the final answer."
    partial = " ".join(problems[5].split()[:8]) + " and then some unrelated words follow here"
    seven = " ".join(problems[5].split()[:7]) + " zebra"  # shares only a 7-gram: clean at n=8
    reworded = " ".join(w.upper() for w in problems[7].split())  # case is normalised away
    hits = index.hits(
        [
            planted,
            "An unrelated question about apples and rivers in spring.",
            partial,
            seven,
            reworded,
            "what is ONE plus one",
        ]
    )
    assert hits == ["aime24", None, "aime24", None, "aime24", "tiny"]
    assert index.benchmarks == ["aime24", "tiny"]


def test_registered_benchmarks_come_from_evals():
    names = registered_benchmarks()
    assert "aime24" in names and "math500" in names
