#!/usr/bin/python3
"""Writes test/fixtures/model/tokenizer-parity.json: held-out code and this script's own BPE
encoding of it, so the JavaScript tokenizer can be checked against the Python one.

Usage: make_fixtures.py CORPUS_DIR TOKENIZER_DIR OUT_JSON [--per-language 10]

For each snippet: `ids` is the encoding of the text without special tokens; `words` are the
snippet's whitespace-separated pieces and `wordIds` their encodings the way CodeBERT-style
pipelines tokenize code token by code token: a leading space before every word but the first.
"""
import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import ByteLevelBPE  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('corpus')
    parser.add_argument('tokenizer')
    parser.add_argument('out')
    parser.add_argument('--per-language', type=int, default=10)
    args = parser.parse_args()
    tokenizer = ByteLevelBPE.load(args.tokenizer)
    taken = collections.Counter()
    cases = []
    with open(os.path.join(args.corpus, 'heldout.jsonl')) as handle:
        for line in handle:
            record = json.loads(line)
            language = record['language']
            if taken[language] >= args.per_language:
                continue
            lines = record['text'].splitlines(keepends=True)
            start = (taken[language] * 37) % max(1, len(lines) - 40)
            text = ''.join(lines[start:start + 40])[:2500]
            if len(text.strip()) < 50:
                continue
            taken[language] += 1
            words = text.split()[:120]
            cases.append({
                'language': language,
                'source': record['path'],
                'text': text,
                'ids': tokenizer.encode(text),
                'words': words,
                'wordIds': [tokenizer.encode(word if index == 0 else ' ' + word) for index, word in enumerate(words)],
            })
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as handle:
        json.dump({'description': 'Held-out code encoded by models/tools/bpe.py (Python).', 'cases': cases}, handle, ensure_ascii=False)
    print(f'{len(cases)} cases: {dict(taken)}')


if __name__ == '__main__':
    main()
