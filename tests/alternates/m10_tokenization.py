"""Module 10: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

ALTERNATES = [
    Alternate(
        graded=("10-tokenization-test-char-tokenizer",),
        cell="10-tokenization-char-tokenizer",
        region=0,
        code='''
            self.itos = []
            for token in self.specials:
                self.itos.append(token)
            for char in sorted(set(text)):
                self.itos.append(char)
            self.stoi = dict(zip(self.itos, range(len(self.itos))))
        ''',
        why="builds the list with loops and the dictionary with zip"),
    Alternate(
        graded=("10-tokenization-test-char-tokenizer",),
        cell="10-tokenization-char-tokenizer",
        region=1,
        code='''
            ids = []
            if add_special:
                ids.append(self.bos_id)
            for char in text:
                ids.append(self.stoi[char] if char in self.stoi else self.unk_id)
            if add_special:
                ids.append(self.eos_id)
            return ids
        ''',
        why="appends one id at a time, testing membership instead of dict.get"),
    Alternate(
        graded=("10-tokenization-test-char-tokenizer",),
        cell="10-tokenization-char-tokenizer",
        region=2,
        code='''
            ids = [int(i) for i in ids]
            for i in ids:
                if i < 0 or i >= self.vocab_size:
                    raise ValueError(f"unknown id {i}")
            n_special = len(self.specials)
            return "".join(self.itos[i] for i in ids if not (skip_special and i < n_special))
        ''',
        why="checks every id first, then joins with a generator that filters the specials"),
    Alternate(
        graded=("10-tokenization-test-pairs",),
        cell="10-tokenization-pairs",
        region=0,
        code='''
            ids = list(ids)
            counts = Counter()
            for i in range(len(ids) - 1):
                counts[ids[i], ids[i + 1]] += 1
            return counts
        ''',
        why="a loop over the positions instead of zip"),
    Alternate(
        graded=("10-tokenization-test-pairs",),
        cell="10-tokenization-pairs",
        region=1,
        code='''
            out = []
            skip = False
            for i, token in enumerate(ids):
                if skip:
                    skip = False
                    continue
                if i + 1 < len(ids) and (token, ids[i + 1]) == tuple(pair):
                    out.append(new_id)
                    skip = True
                else:
                    out.append(token)
            return out
        ''',
        why="a for loop with a flag that skips the right half of a merged pair"),
    Alternate(
        graded=("10-tokenization-test-learn-merges",),
        cell="10-tokenization-learn-merges",
        region=0,
        code='''
            new_id = first_id
            while len(merges) < num_merges:
                counts = count_pairs(ids)
                if not counts or max(counts.values()) < 2:
                    break
                pair = best_pair(counts)
                ids = merge_pair(ids, pair, new_id)
                merges.append((pair, new_id))
                new_id += 1
        ''',
        why="a while loop on the number of merges, stopping on the largest count"),
    Alternate(
        graded=("10-tokenization-test-learn-merges-fast",),
        cell="10-tokenization-learn-merges-fast",
        region=0,
        code='''
            left = tokens[p] if p != -1 else None
            right = tokens[after] if after != -1 else None
            for old_pair, position in (((left, a), p), ((a, b), i), ((b, right), j)):
                if None not in old_pair:
                    add(old_pair, position, -1)
            tokens[i] = new_id
            alive[j] = False
            nxt[i] = after
            if right is not None:
                prv[after] = i
            if left is not None:
                add((left, new_id), p, 1)
            if right is not None:
                add((new_id, right), i, 1)
        ''',
        why="reads both neighbours first and lowers the three old counts in one loop"),
    Alternate(
        graded=("10-tokenization-test-bpe-tokenizer",),
        cell="10-tokenization-bpe-tokenizer",
        region=0,
        code='''
            ids = list(text.encode("utf-8"))
            ids = [v + self.byte_offset for v in ids]
            for merge in self.merges:
                ids = merge_pair(ids, merge[0], merge[1])
            return [self.bos_id, *ids, self.eos_id] if add_special else ids
        ''',
        why="indexes the merge tuples and wraps with unpacking"),
    Alternate(
        graded=("10-tokenization-test-bpe-tokenizer",),
        cell="10-tokenization-bpe-tokenizer",
        region=1,
        code='''
            data = bytearray()
            for i in ids:
                if i < 0 or i >= len(self.token_bytes):
                    raise ValueError(f"id {i} is outside the vocabulary")
                if i in range(len(self.specials)):
                    if not skip_special:
                        data += self.specials[i].encode("utf-8")
                    continue
                data += self.token_bytes[i]
            return bytes(data).decode("utf-8", errors="replace")
        ''',
        why="collects the bytes in a bytearray, tests specials with a range"),
]
