#!/usr/bin/python3
"""Byte-level BPE as RoBERTa's, trained on the corpus, saved in Hugging Face formats.

Usage: bpe.py CORPUS_DIR OUT_DIR [--vocab-size 8192] [--sample-mb 8]

Writes tokenizer.json (loads in Hugging Face `tokenizers` and its JavaScript port), vocab.json and
merges.txt. The pre-tokenizer is GPT-2's regular expression over the text, each piece mapped
byte by byte to printable characters, exactly as the ByteLevel pre-tokenizer does; merges are
learned on pieces weighted by frequency. `ByteLevelBPE.encode` reproduces the encoding.
"""
import argparse
import collections
import json
import os
import sys

import regex

SPECIAL_TOKENS = ['<s>', '<pad>', '</s>', '<unk>', '<mask>']
PRETOKENIZE = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    printable = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {byte: chr(char) for byte, char in zip(printable, chars)}


BYTE_TO_CHAR = bytes_to_unicode()


def pieces(text):
    for match in PRETOKENIZE.findall(text):
        yield ''.join(BYTE_TO_CHAR[b] for b in match.encode('utf-8'))


def train(word_counts, vocab_size):
    alphabet = sorted(set(BYTE_TO_CHAR.values()))
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    for char in alphabet:
        vocab[char] = len(vocab)
    words = [list(word) for word in word_counts]
    counts = list(word_counts.values())
    pair_counts = collections.Counter()
    pair_words = collections.defaultdict(set)
    for index, symbols in enumerate(words):
        for pair in zip(symbols, symbols[1:]):
            pair_counts[pair] += counts[index]
            pair_words[pair].add(index)
    merges = []
    while len(vocab) < vocab_size and pair_counts:
        best = max(pair_counts.items(), key=lambda item: (item[1], item[0]))[0]
        if pair_counts[best] < 2:
            break
        merged = best[0] + best[1]
        merges.append(best)
        vocab[merged] = len(vocab)
        for index in list(pair_words[best]):
            symbols = words[index]
            count = counts[index]
            for pair in zip(symbols, symbols[1:]):
                pair_counts[pair] -= count
                if pair_counts[pair] <= 0:
                    del pair_counts[pair]
            new_symbols = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == best[0] and symbols[i + 1] == best[1]:
                    new_symbols.append(merged)
                    i += 2
                else:
                    new_symbols.append(symbols[i])
                    i += 1
            words[index] = new_symbols
            for pair in zip(new_symbols, new_symbols[1:]):
                pair_counts[pair] += count
                pair_words[pair].add(index)
        pair_words.pop(best, None)
        if len(merges) % 1000 == 0:
            print(f'{len(merges)} merges', file=sys.stderr, flush=True)
    return vocab, merges


class ByteLevelBPE:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ranks = {tuple(pair): rank for rank, pair in enumerate(merges)}
        self.cache = {}

    @classmethod
    def load(cls, folder):
        with open(os.path.join(folder, 'vocab.json')) as handle:
            vocab = json.load(handle)
        with open(os.path.join(folder, 'merges.txt')) as handle:
            merges = [line.split() for line in handle.read().splitlines()[1:] if line]
        return cls(vocab, merges)

    def encode_piece(self, piece):
        cached = self.cache.get(piece)
        if cached is not None:
            return cached
        symbols = list(piece)
        while len(symbols) > 1:
            ranked = [(self.ranks.get(pair, 1 << 30), i) for i, pair in enumerate(zip(symbols, symbols[1:]))]
            rank, position = min(ranked)
            if rank == 1 << 30:
                break
            first, second = symbols[position], symbols[position + 1]
            merged, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == first and symbols[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        ids = [self.vocab[symbol] for symbol in symbols]
        if len(self.cache) < 500_000:
            self.cache[piece] = ids
        return ids

    def encode(self, text):
        ids = []
        for piece in pieces(text):
            ids.extend(self.encode_piece(piece))
        return ids


def tokenizer_json(vocab, merges):
    special = [
        {'id': vocab[token], 'content': token, 'single_word': False, 'lstrip': token == '<mask>', 'rstrip': False,
         'normalized': False, 'special': True}
        for token in SPECIAL_TOKENS
    ]
    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': special,
        'normalizer': None,
        'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
        'post_processor': {'type': 'RobertaProcessing', 'sep': ['</s>', 2], 'cls': ['<s>', 0], 'trim_offsets': True,
                           'add_prefix_space': False},
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': '',
                  'end_of_word_suffix': '', 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
                  'vocab': vocab, 'merges': [' '.join(pair) for pair in merges]},
    }


def save(vocab, merges, out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'vocab.json'), 'w') as handle:
        json.dump(vocab, handle, ensure_ascii=False)
    with open(os.path.join(out, 'merges.txt'), 'w') as handle:
        handle.write('#version: 0.2\n' + ''.join(f'{a} {b}\n' for a, b in merges))
    with open(os.path.join(out, 'tokenizer.json'), 'w') as handle:
        json.dump(tokenizer_json(vocab, merges), handle, ensure_ascii=False)
    with open(os.path.join(out, 'tokenizer_config.json'), 'w') as handle:
        json.dump({'tokenizer_class': 'RobertaTokenizer', 'model_max_length': 512, 'bos_token': '<s>', 'eos_token': '</s>',
                   'unk_token': '<unk>', 'sep_token': '</s>', 'cls_token': '<s>', 'pad_token': '<pad>',
                   'mask_token': '<mask>', 'add_prefix_space': False}, handle, indent=2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('corpus')
    parser.add_argument('out')
    parser.add_argument('--vocab-size', type=int, default=8192)
    parser.add_argument('--sample-mb', type=float, default=8.0)
    args = parser.parse_args()
    per_language = collections.defaultdict(int)
    word_counts = collections.Counter()
    budget = args.sample_mb * 1_000_000 / 7
    with open(os.path.join(args.corpus, 'train.jsonl')) as handle:
        for line in handle:
            record = json.loads(line)
            if per_language[record['language']] >= budget:
                continue
            per_language[record['language']] += len(record['text'])
            word_counts.update(pieces(record['text']))
    print(f'{len(word_counts)} distinct pieces from {sum(per_language.values())} characters', file=sys.stderr)
    vocab, merges = train(word_counts, args.vocab_size)
    save(vocab, merges, args.out)
    print(f'vocabulary {len(vocab)}, merges {len(merges)}', file=sys.stderr)


if __name__ == '__main__':
    main()
