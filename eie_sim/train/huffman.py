"""Canonical Huffman coding of integer symbol streams (Deep Compression, section 4).

``code = huffman_code(stream)`` builds a code from the symbol frequencies of ``stream``;
``bits, n = code.encode(stream)`` packs it MSB-first into bytes; ``code.decode(bits, n)``
returns the symbols. ``huffman_bits(stream)`` is the encoded size in bits (the code table is
not included; Deep Compression's counts do not include it either).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from .._jit import cached_njit
from ..errors import EIEError

__all__ = ["HuffmanCode", "huffman_code", "huffman_bits"]


@cached_njit()
def _encode(stream, code_of, len_of, out_bits):
    pos = 0
    for i in range(stream.size):
        s = stream[i]
        c = code_of[s]
        n = len_of[s]
        for t in range(n - 1, -1, -1):
            out_bits[pos] = (c >> t) & 1
            pos += 1
    return pos


@cached_njit()
def _decode(bits, n_bits, first_code, first_index, count, symbols, out):
    pos = 0
    k = 0
    max_len = first_code.size - 1
    while pos < n_bits:
        code = 0
        length = 0
        while True:
            if pos >= n_bits or length >= max_len:
                return -1
            code = (code << 1) | bits[pos]
            pos += 1
            length += 1
            off = code - first_code[length]
            if 0 <= off < count[length]:
                out[k] = symbols[first_index[length] + off]
                k += 1
                break
    return k


@dataclass(frozen=True, eq=False)
class HuffmanCode:
    """A canonical Huffman code: ``lengths[s]`` bits for symbol ``s`` (0 for absent symbols)."""

    lengths: np.ndarray
    codes: np.ndarray

    def encode(self, stream) -> tuple[np.ndarray, int]:
        s = np.asarray(stream, dtype=np.int64).ravel()
        if s.size and (s.min() < 0 or s.max() >= self.lengths.size or np.any(self.lengths[s] == 0)):
            raise EIEError("stream: contains a symbol this Huffman code does not know")
        n_bits = int(self.lengths[s].sum())
        raw = np.zeros(n_bits, dtype=np.uint8)
        _encode(s, self.codes, self.lengths, raw)
        return np.packbits(raw), n_bits

    def decode(self, packed: np.ndarray, n_bits: int) -> np.ndarray:
        bits = np.unpackbits(np.asarray(packed, dtype=np.uint8))[:n_bits].astype(np.int64)
        max_len = int(self.lengths.max(initial=0))
        count = np.zeros(max_len + 2, dtype=np.int64)
        for L in self.lengths[self.lengths > 0]:
            count[L] += 1
        order = np.lexsort((np.arange(self.lengths.size), self.lengths))
        symbols = order[self.lengths[order] > 0].astype(np.int64)
        first_code = np.zeros(max_len + 2, dtype=np.int64)
        first_index = np.zeros(max_len + 2, dtype=np.int64)
        code = 0
        idx = 0
        for L in range(1, max_len + 1):
            code = (code + count[L - 1]) << 1 if L > 1 else 0
            first_code[L] = code
            first_index[L] = idx
            idx += count[L]
        out = np.zeros(n_bits, dtype=np.int64)
        k = _decode(bits, n_bits, first_code, first_index, count, symbols, out)
        if k < 0:
            raise EIEError("Huffman bit stream: truncated or corrupt")
        return out[:k]


def huffman_code(stream) -> HuffmanCode:
    """The canonical Huffman code of the symbol frequencies in ``stream`` (non-negative ints)."""
    s = np.asarray(stream, dtype=np.int64).ravel()
    if s.size and s.min() < 0:
        raise EIEError("stream: Huffman symbols must be non-negative integers")
    freq = np.bincount(s) if s.size else np.zeros(1, dtype=np.int64)
    present = np.flatnonzero(freq)
    lengths = np.zeros(freq.size, dtype=np.int64)
    if present.size == 1:
        lengths[present[0]] = 1
    elif present.size > 1:
        heap = [(int(freq[p]), int(p), [int(p)]) for p in present]
        heapq.heapify(heap)
        while len(heap) > 1:
            f1, t1, s1 = heapq.heappop(heap)
            f2, t2, s2 = heapq.heappop(heap)
            for sym in s1 + s2:
                lengths[sym] += 1
            heapq.heappush(heap, (f1 + f2, min(t1, t2), s1 + s2))
    # canonical codes: by (length, symbol)
    codes = np.zeros(freq.size, dtype=np.int64)
    order = np.lexsort((np.arange(freq.size), lengths))
    code = 0
    prev_len = 0
    first = True
    for sym in order:
        L = lengths[sym]
        if L == 0:
            continue
        if first:
            code = 0
            first = False
        else:
            code = (code + 1) << (L - prev_len)
        codes[sym] = code
        prev_len = L
    return HuffmanCode(lengths=lengths, codes=codes)


def huffman_bits(stream) -> int:
    """Size in bits of ``stream`` Huffman-coded with its own code."""
    s = np.asarray(stream, dtype=np.int64).ravel()
    if s.size == 0:
        return 0
    return int(huffman_code(s).lengths[s].sum())
