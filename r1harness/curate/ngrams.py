"""Word n-gram hashing, vectorised: the shared base of near-dup MinHash and n-gram decontamination.

Texts are lower-cased and split into words (runs of letters/digits) by Polars; each word is hashed once and
an n-gram's hash is a polynomial roll over its words' hashes in numpy, so a batch of 100k texts of ~350
words is a few vector operations, not 35M Python calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

WORD_PATTERN = r"[\p{L}\p{N}]+"
_ROLL = np.uint64(0x100000001B3)  # FNV prime as the polynomial base


@dataclass(frozen=True)
class WordHashes:
    hashes: np.ndarray  # uint64, the words of all texts concatenated
    lengths: np.ndarray  # int64, words per text

    @property
    def doc_of_word(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.lengths), dtype=np.int64), self.lengths)


def word_hashes(texts: pl.Series | list[str]) -> WordHashes:
    s = texts if isinstance(texts, pl.Series) else pl.Series(texts, dtype=pl.String)
    words = s.fill_null("").str.to_lowercase().str.extract_all(WORD_PATTERN)
    lengths = words.list.len().fill_null(0).to_numpy().astype(np.int64)
    flat = words.explode().drop_nulls()
    hashes = flat.hash(seed=7).to_numpy() if len(flat) else np.zeros(0, np.uint64)
    return WordHashes(hashes.astype(np.uint64, copy=False), lengths)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """A bijective 64-bit mixer (SplitMix64's finaliser), so rolled n-gram hashes spread over all bits.
    Computed in place on one copy: this runs over every shingle of every text."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def ngram_hashes(
    wh: WordHashes, n: int, *, short_whole: bool = True, mix: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(doc index, hash) of every word n-gram. A text shorter than n words yields one hash of all its
    words when `short_whole` (so short texts still get a signature), else nothing."""
    h, lengths = wh.hashes, wh.lengths
    total = len(h)
    if total >= n:
        m = total - n + 1
        g = np.zeros(m, np.uint64)
        with np.errstate(over="ignore"):
            for j in range(n):
                g = g * _ROLL + h[j : j + m]
        doc = wh.doc_of_word
        valid = doc[:m] == doc[n - 1 :]
        docs, grams = doc[:m][valid], (splitmix64(g[valid]) if mix else g[valid])
    else:
        docs, grams = np.zeros(0, np.int64), np.zeros(0, np.uint64)
    if short_whole:
        short = np.nonzero((lengths > 0) & (lengths < n))[0]
        if len(short):
            docs = np.concatenate([docs, short])
            grams = np.concatenate([grams, _whole_hashes(wh, short)])
    return docs, grams


def _whole_hashes(wh: WordHashes, which: np.ndarray) -> np.ndarray:
    starts = np.concatenate([[0], np.cumsum(wh.lengths)[:-1]])
    out = np.empty(len(which), np.uint64)
    with np.errstate(over="ignore"):
        for i, d in enumerate(which):  # only texts shorter than n words: few and tiny
            acc = np.uint64(0)
            for v in wh.hashes[starts[d] : starts[d] + wh.lengths[d]]:
                acc = acc * _ROLL + v
            out[i] = acc
    return splitmix64(out)
