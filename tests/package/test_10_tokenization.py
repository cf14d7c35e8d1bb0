"""Specification of tinytorch.text.tokenization (Module 10), tested on the exported package.

The character tokenizer's vocabulary and round trip, byte-pair encoding's pair counting,
merging and training loop (the naive loop against the given incremental one), the byte-level
BPE tokenizer on any text, and the tiny text corpus loader.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tinytorch.text.tokenization import (BPETokenizer, CharTokenizer, best_pair, count_pairs,
                                         learn_merges, learn_merges_fast, load_tiny_text,
                                         merge_pair)

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")


@pytest.fixture(scope="module")
def tales() -> str:
    return load_tiny_text("tiny_tales")


# ----- CharTokenizer ---------------------------------------------------------------------------

def test_char_vocabulary_is_the_specials_then_the_sorted_characters():
    tok = CharTokenizer("banana split")
    assert tok.itos == list(SPECIALS) + sorted(set("banana split"))
    assert tok.stoi == {t: i for i, t in enumerate(tok.itos)}
    assert tok.vocab_size == 4 + len(set("banana split"))
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (0, 1, 2, 3)


def test_char_specials_can_be_chosen():
    tok = CharTokenizer("xy", specials=("<eos>", "<bos>", "<unk>", "<pad>", "<mask>"))
    assert tok.itos == ["<eos>", "<bos>", "<unk>", "<pad>", "<mask>", "x", "y"]
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (3, 2, 1, 0)
    assert tok.encode("yx", add_special=True) == [1, 6, 5, 0]
    assert tok.decode([1, 6, 4, 5, 0]) == "yx"


def test_char_encode_gives_python_ints_and_unk_for_unknown_characters():
    tok = CharTokenizer("abc")
    ids = tok.encode("cab")
    assert ids == [6, 4, 5] and all(type(i) is int for i in ids)
    assert tok.encode("abzc") == [4, 5, tok.unk_id, 6]
    assert tok.encode("a", add_special=True) == [tok.bos_id, 4, tok.eos_id]
    assert tok.encode("") == []


def test_char_round_trip_on_the_corpus(tales):
    tok = CharTokenizer(tales)
    ids = tok.encode(tales, add_special=True)
    assert len(ids) == len(tales) + 2 and tok.unk_id not in ids
    assert tok.decode(ids) == tales


def test_char_decode_with_and_without_specials():
    tok = CharTokenizer("hi")
    ids = [tok.bos_id, tok.stoi["h"], tok.pad_id, tok.stoi["i"], tok.eos_id]
    assert tok.decode(ids) == "hi"
    assert tok.decode(ids, skip_special=False) == "<bos>h<pad>i<eos>"
    assert tok.decode(np.array([5, 4], dtype=np.int64)) == "ih"


@pytest.mark.parametrize("bad", [6, 100, -1])
def test_char_decode_of_an_unknown_id_is_a_value_error(bad):
    tok = CharTokenizer("hi")
    with pytest.raises(ValueError, match=str(bad)):
        tok.decode([4, bad])


# ----- pairs and merges ------------------------------------------------------------------------

def test_count_pairs_counts_overlapping_pairs():
    assert count_pairs([3, 3, 3, 3]) == Counter({(3, 3): 3})
    assert count_pairs([1, 2, 3, 1, 2]) == Counter({(1, 2): 2, (2, 3): 1, (3, 1): 1})
    assert count_pairs([]) == Counter() and count_pairs([9]) == Counter()


def test_count_pairs_matches_a_loop_on_random_ids():
    ids = np.random.default_rng(10).integers(0, 5, size=1000).tolist()
    counted = Counter((ids[i], ids[i + 1]) for i in range(len(ids) - 1))
    assert count_pairs(ids) == counted


def test_merge_pair_scans_left_to_right():
    assert merge_pair([5, 5, 5], (5, 5), 9) == [9, 5]
    assert merge_pair([5, 5, 5, 5, 5], (5, 5), 9) == [9, 9, 5]
    assert merge_pair([1, 2, 1, 2, 1], (1, 2), 7) == [7, 7, 1]
    assert merge_pair([2, 1], (1, 2), 7) == [2, 1]
    source = [1, 2]
    assert merge_pair(source, (1, 2), 3) == [3] and source == [1, 2]


def test_best_pair_breaks_ties_by_the_smallest_pair():
    assert best_pair(Counter({(5, 1): 3, (2, 9): 3, (0, 0): 1})) == (2, 9)
    assert best_pair({(1, 1): 2, (0, 5): 4}) == (0, 5)


def test_learn_merges_on_the_classic_example():
    a, b, c, d = 10, 11, 12, 13  # "aaabdaaabac"
    ids = [a, a, a, b, d, a, a, a, b, a, c]
    assert learn_merges(ids, 5, first_id=100) == [((a, a), 100), ((a, b), 101), ((100, 101), 102)]
    assert learn_merges(ids, 2, first_id=50) == [((a, a), 50), ((a, b), 51)]
    assert learn_merges(ids, 0, first_id=50) == []
    assert ids == [a, a, a, b, d, a, a, a, b, a, c], "the input is not changed"


def test_learn_merges_stops_when_no_pair_repeats():
    assert learn_merges([1, 2, 3, 4], 10, first_id=5) == []
    assert learn_merges([1, 2, 1, 2], 10, first_id=5) == [((1, 2), 5)]
    for learn in (learn_merges, learn_merges_fast):
        assert learn([], 3, first_id=5) == [] and learn([8], 3, first_id=5) == []
        assert learn([2, 2, 2, 2, 2, 2], 9, first_id=5) == [((2, 2), 5), ((5, 5), 6)]


def test_naive_and_incremental_merges_agree(tales):
    inputs = [list(tales[:4000].encode("utf-8")), [1] * 20 + [2, 1, 1, 2, 1, 1, 1]]
    inputs += [np.random.default_rng(s).integers(0, 3, size=300).tolist() for s in range(4)]
    for ids in inputs:
        assert learn_merges(ids, 30, first_id=500) == learn_merges_fast(ids, 30, first_id=500)


# ----- BPETokenizer ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bpe(tales) -> BPETokenizer:
    return BPETokenizer(tales[:20_000], num_merges=150)


def test_bpe_vocabulary_layout(bpe):
    assert (bpe.pad_id, bpe.unk_id, bpe.bos_id, bpe.eos_id, bpe.byte_offset) == (0, 1, 2, 3, 4)
    assert len(bpe.merges) == 150 and bpe.vocab_size == 4 + 256 + 150
    assert [new_id for _, new_id in bpe.merges] == list(range(260, 410))
    for (left, right), new_id in bpe.merges:
        assert bpe.token_bytes[new_id] == bpe.token_bytes[left] + bpe.token_bytes[right]


def test_bpe_without_merges_is_one_id_per_byte():
    tok = BPETokenizer("", num_merges=5)
    assert tok.merges == [] and tok.vocab_size == 260
    zero = BPETokenizer("abab abab", num_merges=0)
    assert zero.merges == [] and zero.encode("ab") == [4 + 97, 4 + 98]
    assert tok.encode("é!") == [4 + 0xC3, 4 + 0xA9, 4 + ord("!")]


@pytest.mark.parametrize("text", ["", "the friend said", "Zoë, naïve café", "emoji 🐉 ok",
                                  "tabs\tand\r\nwindows lines", "\x00\xff", "日本語のテキスト"])
def test_bpe_round_trips_any_text(bpe, text):
    ids = bpe.encode(text)
    assert all(type(i) is int and 4 <= i < bpe.vocab_size for i in ids)
    assert bpe.decode(ids) == text
    assert bpe.decode(bpe.encode(text, add_special=True)) == text


def test_bpe_encode_applies_the_merges_in_order(bpe, tales):
    held_out = tales[-2000:]
    expected = [4 + v for v in held_out.encode("utf-8")]
    for pair, new_id in bpe.merges:
        expected = merge_pair(expected, pair, new_id)
    assert bpe.encode(held_out) == expected
    assert len(expected) < 0.6 * len(held_out), "the merges shorten held-out text of the same kind"


def test_bpe_specials(bpe):
    ids = bpe.encode("hi", add_special=True)
    assert ids[0] == bpe.bos_id and ids[-1] == bpe.eos_id and len(ids) == 4
    assert bpe.decode([bpe.pad_id] + ids) == "hi"
    assert bpe.decode([bpe.pad_id] + ids, skip_special=False) == "<pad><bos>hi<eos>"


def test_bpe_decode_replaces_a_cut_character(bpe):
    cut = bpe.encode("é")[:1]
    assert bpe.decode(cut) == "\ufffd"


@pytest.mark.parametrize("bad", [410, 5000, -2])
def test_bpe_decode_of_an_unknown_id_is_a_value_error(bpe, bad):
    with pytest.raises(ValueError, match=str(bad)):
        bpe.decode([bad])


def test_bpe_rejects_a_negative_number_of_merges():
    with pytest.raises(ValueError, match="num_merges"):
        BPETokenizer("abc", num_merges=-1)


# ----- the corpus -------------------------------------------------------------------------------

def test_tiny_tales_loads_as_ascii_text(tales):
    assert 60_000 <= len(tales) <= 100_000 and tales.isascii()
    assert "\r" not in tales and tales.endswith("\n")
    assert CharTokenizer(tales).vocab_size == 4 + len(set(tales))


def test_tokenizers_describe_themselves():
    assert repr(CharTokenizer("ab")) == "CharTokenizer(vocab_size=6, specials=('<pad>', '<unk>', '<bos>', '<eos>'))"
    assert repr(BPETokenizer("abab", num_merges=1)) == "BPETokenizer(vocab_size=261, merges=1)"


# ----- the loader's checks (given code) ---------------------------------------------------------

@pytest.fixture
def own_datasets(tmp_path, monkeypatch):
    """An empty datasets/tiny/ that the locator uses; returns the path of tiny_tales.txt in it."""
    from tinytorch.data.loader import DATASETS_ENV
    (tmp_path / "tiny").mkdir()
    monkeypatch.setenv(DATASETS_ENV, str(tmp_path))
    return tmp_path.resolve() / "tiny" / "tiny_tales.txt"


def test_loader_reads_a_file_of_exactly_100_000_bytes(own_datasets):
    own_datasets.write_bytes(b"abcd\n" * 20_000)
    assert len(load_tiny_text("tiny_tales")) == 100_000


@pytest.mark.parametrize("content", [None, b"abcd\n" * 20_000 + b"x", b"\xff\xfe bad\n",
                                     b"a\x07bell\n", b"tab\there\n", b"crlf\r\n"],
                         ids=["missing", "100,001 bytes", "not UTF-8", "control", "tab", "\\r"])
def test_loader_refuses_a_broken_file_naming_it_and_the_fix(own_datasets, content):
    if content is not None:
        own_datasets.write_bytes(content)
    error_type = FileNotFoundError if content is None else ValueError
    with pytest.raises(error_type) as error:
        load_tiny_text("tiny_tales")
    assert str(own_datasets) in str(error.value)
    assert "create_tiny_tales.py" in str(error.value)
