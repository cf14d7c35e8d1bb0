"""Module 10: plausible wrong answers for its graded cells (see __init__.py)."""

from mutations import Mutation

MUTATIONS = [
    Mutation("10-tokenization-test-char-tokenizer", "10-tokenization-char-tokenizer",
             "list(self.specials) + sorted(set(text))", "sorted(set(text)) + list(self.specials)",
             "puts the characters first and the specials after them"),
    Mutation("10-tokenization-test-char-tokenizer", "10-tokenization-char-tokenizer",
             "ids = [self.bos_id] + ids + [self.eos_id]", "ids = [self.bos_id] + ids",
             "add_special adds the begin token but forgets the end token"),
    Mutation("10-tokenization-test-char-tokenizer", "10-tokenization-char-tokenizer",
             "if skip_special and i < len(self.specials):",
             "if skip_special and i <= len(self.specials):",
             "off by one: skipping the specials also drops the first character of the vocabulary"),
    Mutation("10-tokenization-test-count-pairs", "10-tokenization-count-pairs",
             "Counter(zip(ids, ids[1:]))", "Counter(zip(ids[::2], ids[1::2]))",
             "counts the pairs in steps of two, missing the overlapping ones"),
    Mutation("10-tokenization-test-merge-pair", "10-tokenization-merge-pair",
             "i += 2", "i += 1",
             "after a merge moves one place instead of two, so the right half is merged again"),
    Mutation("10-tokenization-test-learn-merges", "10-tokenization-learn-merges",
             "if counts[pair] < 2:", "if counts[pair] < 1:",
             "keeps merging pairs that occur only once"),
    Mutation("10-tokenization-test-learn-merges", "10-tokenization-learn-merges",
             "new_id = first_id + k", "new_id = first_id + k + 1",
             "the first merge gets first_id + 1 instead of first_id"),
    Mutation("10-tokenization-test-bpe-tokenizer", "10-tokenization-bpe-tokenizer",
             "for pair, new_id in self.merges:", "for pair, new_id in reversed(self.merges):",
             "applies the merges last-learned first, so later merges never find their pieces"),
    Mutation("10-tokenization-test-bpe-tokenizer", "10-tokenization-bpe-tokenizer",
             'errors="replace"', 'errors="ignore"',
             "drops half a character on decode instead of showing U+FFFD"),
]
