"""Near-duplicate detection: MinHash signatures + LSH banding, vectorised with numpy/Polars.

Signatures use one-permutation hashing with rotation densification (Li et al. 2012; Shrivastava & Li 2014):
each shingle is hashed once and falls into one of `num_perm` bins, instead of being hashed `num_perm` times
as classic MinHash (datasketch) does. That is what makes 4M-row completion dedup fit in minutes on 2 cores:
datasketch's `MinHash.update_batch` hashes in Python per document (measured in benchmarks/curate_scale.py).
Agreement with datasketch's Jaccard estimates is checked in tests/test_curate_dedup.py.

Texts are given in priority order (index 0 = most preferred); in each duplicate cluster the text with the
lowest index is kept, so results are deterministic.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from r1harness.curate.ngrams import WordHashes, ngram_hashes, splitmix64, word_hashes

EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)


SIGNATURE_CHUNK = 100_000


def signatures(
    texts: pl.Series | list[str] | WordHashes, *, num_perm: int = 64, shingle: int = 5
) -> np.ndarray:
    """uint64 signature matrix (len(texts) x num_perm); texts may be given as their WordHashes. Long
    inputs are processed in chunks of texts so the per-shingle arrays stay small."""
    if not isinstance(texts, WordHashes):
        series = texts if isinstance(texts, pl.Series) else pl.Series(texts, dtype=pl.String)
        if len(series) > SIGNATURE_CHUNK:
            return np.concatenate(
                [
                    signatures(series.slice(i, SIGNATURE_CHUNK), num_perm=num_perm, shingle=shingle)
                    for i in range(0, len(series), SIGNATURE_CHUNK)
                ]
            )
    wh = texts if isinstance(texts, WordHashes) else word_hashes(series)
    docs, grams = ngram_hashes(wh, shingle)
    n = len(wh.lengths)
    sig = np.full((n, num_perm), EMPTY, dtype=np.uint64)
    if len(grams):
        bins = (grams % np.uint64(num_perm)).astype(np.int64)
        values = grams // np.uint64(num_perm)
        best = (
            pl.DataFrame({"cell": docs * num_perm + bins, "v": values})
            .group_by("cell")
            .agg(pl.col("v").min())
        )
        sig.reshape(-1)[best["cell"].to_numpy()] = best["v"].to_numpy()
    return _densify(sig)


def _densify(sig: np.ndarray, chunk_rows: int = 65_536) -> np.ndarray:
    """Fill each empty bin from the next non-empty bin to the right (circularly), salted by the distance,
    so two texts with the same shingles get the same filled signature. O(rows x bins), in row chunks."""
    out = sig.copy()
    k = sig.shape[1]
    rows = np.nonzero((sig == EMPTY).any(axis=1))[0]
    positions = np.arange(2 * k, dtype=np.int64)
    for start in range(0, len(rows), chunk_rows):
        r = rows[start : start + chunk_rows]
        block = sig[r]
        doubled = np.concatenate([block, block], axis=1)
        # index of the next non-empty bin at or after each position (2k: wraps around once)
        nxt = np.where(doubled != EMPTY, positions, 2 * k)
        nxt = np.minimum.accumulate(nxt[:, ::-1], axis=1)[:, ::-1][:, :k]
        empty = (block == EMPTY) & (nxt < 2 * k)  # rows with no shingle at all stay empty
        src = np.take_along_axis(block, np.minimum(nxt, 2 * k - 1) % k, axis=1)
        filled = splitmix64(src[empty] + (nxt - positions[:k])[empty].astype(np.uint64))
        block[empty] = filled
        out[r] = block
    return out  # rows still all-empty are texts with no words; they only match each other


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b).mean(axis=-1)


def near_duplicate_clusters(sig: np.ndarray, *, bands: int = 16, threshold: float = 0.8) -> np.ndarray:
    """Cluster label per row (the lowest row index of its cluster); label == index means 'keep'.

    LSH: rows sharing any band bucket are candidates; a candidate joins the bucket's first row when
    their estimated Jaccard reaches `threshold`. Clusters are the connected components of those links."""
    n, k = sig.shape
    if n == 0:
        return np.zeros(0, np.int64)
    rows = k // bands
    src, dst = [], []
    idx = np.arange(n, dtype=np.int64)
    for b in range(bands):
        band = sig[:, b * rows : (b + 1) * rows]
        key = band[:, 0].copy()
        with np.errstate(over="ignore"):
            for j in range(1, rows):
                key = splitmix64(key ^ band[:, j])
        first = (
            pl.DataFrame({"key": key, "i": idx})
            .group_by("key", maintain_order=True)
            .agg(pl.col("i").min().alias("first"))
        )
        head = pl.DataFrame({"key": key}).join(first, on="key", how="left")["first"].to_numpy()
        cand = np.nonzero(head != idx)[0]
        if len(cand):
            ok = estimated_jaccard(sig[cand], sig[head[cand]]) >= threshold
            src.append(cand[ok])
            dst.append(head[cand][ok])
    return _components(n, np.concatenate(src) if src else idx[:0], np.concatenate(dst) if dst else idx[:0])


def _components(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not len(src):
        return np.arange(n, dtype=np.int64)
    graph = coo_matrix((np.ones(len(src), np.int8), (src, dst)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    # label each component by its lowest row index
    order = np.argsort(comp, kind="stable")
    first_of = np.full(comp.max() + 1, n, dtype=np.int64)
    np.minimum.at(first_of, comp[order], order)
    return first_of[comp]


def near_duplicate_keep(
    texts: pl.Series | list[str],
    *,
    threshold: float = 0.8,
    num_perm: int = 64,
    bands: int = 16,
    shingle: int = 5,
) -> np.ndarray:
    """Boolean mask: True for the first (highest-priority) text of each near-duplicate cluster."""
    sig = signatures(texts, num_perm=num_perm, shingle=shingle)
    labels = near_duplicate_clusters(sig, bands=bands, threshold=threshold)
    return labels == np.arange(len(labels))
