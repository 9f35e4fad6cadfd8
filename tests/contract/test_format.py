import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eie_sim import ArchConfig, CompressedLayer, EIEError, EncodingError, PointerOverflowError, decode, encode, encode_for
from eie_sim.contract.format import pack_fields, unpack_fields

from helpers import random_codebook, random_codes, slow_encode

CB16 = np.arange(16) * 0.125


def paper_column():
    """EIE paper, section III: [0, 0, 1, 2, eighteen zeros, 3] as one column."""
    return np.array([0, 0, 1, 2] + [0] * 18 + [3], dtype=np.uint8).reshape(-1, 1)


def test_paper_example():
    layer = encode(paper_column(), CB16, n_pe=1, index_bits=4)
    pe = layer.pes[0]
    assert pe.v.tolist() == [1, 2, 0, 3]
    assert pe.z.tolist() == [2, 0, 15, 2]
    assert pe.ptr.tolist() == [0, 4]
    assert (pe.entries, pe.padding, pe.real) == (4, 1, 3)
    assert np.array_equal(decode(layer), paper_column())


def test_hand_worked_two_pes_two_bit_index():
    # Rows 2, 3, 22 hold codes 1, 2, 3. PE 0 gets even rows (local 1 and 11), PE 1 odd rows (local 1).
    col = np.zeros((23, 1), dtype=np.uint8)
    col[2, 0], col[3, 0], col[22, 0] = 1, 2, 3
    layer = encode(col, np.array([0.0, 1.0, 2.0, 3.0]), n_pe=2, index_bits=2)
    assert layer.pes[0].v.tolist() == [1, 0, 0, 3]  # 9 zeros before local row 11: two pads of 4 rows, then z = 1
    assert layer.pes[0].z.tolist() == [1, 3, 3, 1]
    assert layer.pes[0].ptr.tolist() == [0, 4]
    assert layer.pes[1].v.tolist() == [2]
    assert layer.pes[1].z.tolist() == [1]
    assert [p.n_local_rows for p in layer.pes] == [12, 11]
    assert np.array_equal(decode(layer), col)


def test_interleaving_row_i_goes_to_pe_i_mod_n():
    codes = np.zeros((10, 3), dtype=np.uint8)
    codes[7, 1] = 5  # PE 7 % 4 = 3, local row 1
    layer = encode(codes, CB16, n_pe=4)
    for k, p in enumerate(layer.pes):
        assert p.entries == (1 if k == 3 else 0)
    assert layer.pes[3].ptr.tolist() == [0, 0, 1, 1]
    assert layer.pes[3].z.tolist() == [1]


@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(0, 60),
    cols=st.integers(0, 24),
    density=st.sampled_from([0.0, 0.02, 0.1, 0.5, 1.0]),
    n_pe=st.integers(1, 70),
    index_bits=st.integers(1, 8),
    weight_bits=st.integers(1, 8),
)
def test_round_trip_and_slow_reference(seed, rows, cols, density, n_pe, index_bits, weight_bits):
    rng = np.random.default_rng(seed)
    codes = random_codes(rng, rows, cols, density, weight_bits)
    cb = random_codebook(rng, weight_bits)
    layer = encode(codes, cb, n_pe=n_pe, index_bits=index_bits)
    assert np.array_equal(decode(layer), codes)
    layer.validate()
    ref = slow_encode(codes, n_pe, index_bits)
    for pe, (ptr, v, z) in zip(layer.pes, ref):
        assert pe.ptr.tolist() == ptr
        assert pe.v.tolist() == v
        assert pe.z.tolist() == z
        assert pe.ptr[0] == 0 and np.all(np.diff(pe.ptr) >= 0)
        assert np.all(pe.z < (1 << index_bits))
    assert layer.nnz == np.count_nonzero(codes)


@given(seed=st.integers(0, 2**32 - 1), index_bits=st.integers(1, 3), n_pe=st.integers(1, 3))
def test_round_trip_padding_heavy(seed, index_bits, n_pe):
    rng = np.random.default_rng(seed)
    codes = random_codes(rng, 400, 5, 0.01, 4)
    layer = encode(codes, CB16, n_pe=n_pe, index_bits=index_bits)
    assert np.array_equal(decode(layer), codes)
    # Each padding entry covers 2**index_bits rows, so a column needs floor(gap / 2**b) of them.
    S = 1 << index_bits
    expected_pad = 0
    for k in range(n_pe):
        local = codes[k::n_pe]
        for j in range(local.shape[1]):
            prev = -1
            for r in np.flatnonzero(local[:, j]):
                expected_pad += (r - prev - 1) // S
                prev = r
    assert layer.padding_per_pe.sum() == expected_pad


def test_pointer_overflow_names_the_width_needed():
    codes = np.ones((40, 1), dtype=np.uint8)  # 40 entries in one PE: pointers need 6 bits
    with pytest.raises(PointerOverflowError, match="need 6 bits but ptr_bits=5") as info:
        encode(codes, CB16, n_pe=1, ptr_bits=5)
    assert info.value.bits_needed == 6
    assert encode(codes, CB16, n_pe=1, ptr_bits=6).pes[0].ptr[-1] == 40


def test_spmat_overflow_is_flagged_per_pe_not_refused():
    # 1 KB spmat SRAM at 64-bit words, 8-bit entries: 128 words x 8 = 1024 entries per PE.
    codes = np.zeros((2, 1500), dtype=np.uint8)
    codes[0, :] = 1  # PE 0: 1500 entries, PE 1: none
    layer = encode(codes, CB16, n_pe=2, spmat_sram_kb=1)
    assert layer.spmat_capacity_entries == 1024
    assert layer.spmat_overflow_entries.tolist() == [1500 - 1024, 0]
    # 1 KB pointer SRAM holds 8192 // 17 = 481 pointers; 1501 are needed.
    layer = encode(codes, CB16, n_pe=2, ptr_sram_kb=1)
    assert layer.ptr_capacity == 481
    assert layer.ptr_overflow.tolist() == [1501 - 481] * 2


def test_encode_for_uses_config():
    cfg = ArchConfig(n_pe=3, index_bits=2, sram_width=32, weight_bits=4)
    layer = encode_for(paper_column(), CB16, cfg)
    assert (layer.n_pe, layer.index_bits, layer.sram_width, layer.entries_per_word) == (3, 2, 32, 5)
    with pytest.raises(EncodingError, match="2\\*\\*weight_bits = 4"):
        encode_for(paper_column(), CB16, ArchConfig(weight_bits=2))


def test_storage_hand_worked_paper_example():
    st = encode(paper_column(), CB16, n_pe=1).storage()
    assert st.v_bits.tolist() == [16] and st.z_bits.tolist() == [16]
    assert st.ptr_bits.tolist() == [34]  # 2 pointers x 17 bits
    assert st.codebook_bits.tolist() == [256]  # 16 values x 16 bits
    assert st.total_bits == 322
    assert st.dense_fp32_bits == 23 * 32
    assert st.deep_compression_bits == 4 * 8 + 16 * 32
    assert st.ratio_eie == pytest.approx(736 / 322)
    assert st.ratio_deep_compression == pytest.approx(736 / 544)


def test_storage_hand_worked_two_pes():
    col = np.zeros((23, 1), dtype=np.uint8)
    col[2, 0], col[3, 0], col[22, 0] = 1, 2, 3
    st = encode(col, np.array([0.0, 1.0, 2.0, 3.0]), n_pe=2, index_bits=2).storage()
    assert st.v_bits.tolist() == [8, 2] and st.z_bits.tolist() == [8, 2]
    assert st.ptr_bits.tolist() == [34, 34] and st.codebook_bits.tolist() == [64, 64]
    assert st.total_bits == 216
    # One stream, 2-bit index: (1,2) (2,0) then 18 zeros -> 4 pads and (3,2): 7 entries of 4 bits.
    assert st.deep_compression_bits == 7 * 4 + 4 * 32
    assert st.spmat_words.tolist() == [1, 1]


def test_packing_hand_worked():
    layer = encode(paper_column(), CB16, n_pe=1)
    words = layer.packed_spmat(0)
    # entries (v << 4 | z): 0x12, 0x20, 0x0F, 0x32, entry 0 in the low byte
    assert words.shape == (1, 1)
    assert int(words[0, 0]) == 0x320F2012


@given(
    seed=st.integers(0, 2**32 - 1),
    field_bits=st.integers(1, 40),
    word_bits=st.integers(40, 300),
    n=st.integers(0, 50),
)
def test_pack_round_trip(seed, field_bits, word_bits, n):
    rng = np.random.default_rng(seed)
    vals = rng.integers(0, 1 << field_bits, size=n, dtype=np.uint64)
    words = pack_fields(vals, field_bits, word_bits)
    per = word_bits // field_bits
    assert words.shape == (-(-n // per), -(-word_bits // 64))
    assert np.array_equal(unpack_fields(words, field_bits, word_bits, n), vals)
    # Independent check through Python integers.
    for w in range(words.shape[0]):
        big = sum(int(x) << (64 * i) for i, x in enumerate(words[w]))
        for s in range(per):
            e = w * per + s
            want = int(vals[e]) if e < n else 0
            assert (big >> (s * field_bits)) & ((1 << field_bits) - 1) == want


@pytest.mark.parametrize(
    "codes, codebook, kwargs, match",
    [
        (np.zeros(5, dtype=np.uint8), CB16, {}, "2-D"),
        (np.full((2, 2), 16), CB16, {}, r"codes\[0, 0\]=16: expected a code in 0..15"),
        (np.full((2, 2), -1), CB16, {}, "expected a code in 0..15"),
        (np.zeros((2, 2)), np.r_[0.5, np.ones(15)], {}, r"codebook\[0\]=0.5: expected exactly 0.0"),
        (np.zeros((2, 2)), np.r_[0.0, np.nan, np.ones(14)], {}, r"codebook\[1\]=nan"),
        (np.zeros((2, 2)), np.r_[0.0, np.inf, np.ones(14)], {}, r"codebook\[1\]=inf"),
        (np.zeros((2, 2)), np.zeros(12), {}, "length 12"),
        (np.zeros((2, 2)), CB16, {"n_pe": 0}, "n_pe=0"),
        (np.zeros((2, 2)), CB16, {"index_bits": 9}, "index_bits=9"),
        (np.zeros((2, 2)), CB16, {"index_bits": 0}, "index_bits=0"),
        (np.zeros((2, 2)), CB16, {"ptr_bits": 0}, "ptr_bits=0"),
        (np.zeros((2, 2)), CB16, {"sram_width": 4}, "sram_width=4"),
        (np.zeros((2, 2)), CB16, {"n_pe": 2.5}, "n_pe=2.5"),
        (np.full((2, 2), 1.5), CB16, {}, "integer codes"),
    ],
)
def test_bad_input(codes, codebook, kwargs, match):
    kwargs = {"n_pe": 2, **kwargs}
    with pytest.raises(EIEError, match=match):
        encode(codes, codebook, **kwargs)


def test_validate_catches_corruption():
    layer = encode(paper_column(), CB16, n_pe=1)
    p = layer.pes[0]
    from dataclasses import replace

    def with_pe(**kw):
        return replace(layer, pes=(replace(p, **kw),), _cache={})

    with pytest.raises(EncodingError, match="padding entry 2 has z=14"):
        with_pe(z=np.array([2, 0, 14, 2], dtype=np.uint8)).validate()
    with pytest.raises(EncodingError, match="padding at the end of a column"):
        with_pe(v=np.array([1, 2, 3, 0], dtype=np.uint8), z=np.array([2, 0, 15, 15], dtype=np.uint8)).validate()
    with pytest.raises(EncodingError, match="local row 23"):
        with_pe(z=np.array([2, 0, 15, 3], dtype=np.uint8)).validate()
    with pytest.raises(EncodingError, match="ptr\\[0\\]=1"):
        with_pe(ptr=np.array([1, 4])).validate()
    with pytest.raises(EncodingError, match="expected all equal"):
        with_pe(ptr=np.array([0, 3])).validate()
    assert isinstance(layer.validate(), CompressedLayer)


@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 60), n_pe=st.integers(1, 5), per_pe=st.integers(1, 7), index_bits=st.integers(1, 4))
def test_split_rows_equals_encoding_each_row_batch(seed, rows, n_pe, per_pe, index_bits):
    from eie_sim.contract.format import split_rows

    rng = np.random.default_rng(seed)
    codes = random_codes(rng, rows, 9, 0.3, 4)
    layer = encode(codes, CB16, n_pe=n_pe, index_bits=index_bits)
    R = n_pe * per_pe
    parts = split_rows(layer, R)
    assert [r0 for r0, _ in parts] == list(range(0, rows, R))
    for r0, sub in parts:
        want = encode(codes[r0 : r0 + R], CB16, n_pe=n_pe, index_bits=index_bits)
        assert sub.shape == want.shape
        for a, b in zip(sub.pes, want.pes):
            assert a.n_local_rows == b.n_local_rows
            assert a.ptr.tolist() == b.ptr.tolist() and a.v.tolist() == b.v.tolist() and a.z.tolist() == b.z.tolist()
