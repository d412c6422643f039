#!/usr/bin/python3
"""Writes the held-out corpus files as one JSONL per language for `code-attention corpus`.

Usage: heldout_snippets.py CORPUS_DIR/heldout.jsonl OUT_DIR [--per-language 8] [--lines 120] [--chars 6000]

Each line is {"language", "path", "code"}: the first --lines lines (at most --chars characters) of
a held-out file, so that most snippets span one to three windows of 512 subwords and structure is
measured at long positions as well as short ones. Files are taken in corpus order, which is a
hash order, so the selection is stable. OUT_DIR/LANGUAGE.jsonl per language.
"""
import argparse
import collections
import json
import os


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('heldout')
    parser.add_argument('out')
    parser.add_argument('--per-language', type=int, default=8)
    parser.add_argument('--lines', type=int, default=120)
    parser.add_argument('--chars', type=int, default=6000)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    by_language = collections.defaultdict(list)
    with open(args.heldout) as handle:
        for line in handle:
            record = json.loads(line)
            language = record['language']
            if len(by_language[language]) >= args.per_language:
                continue
            code = ''.join(record['text'].splitlines(keepends=True)[:args.lines])[:args.chars]
            if len(code.strip()) >= 200:
                by_language[language].append({'language': language, 'path': record['path'], 'code': code})
    for language, records in by_language.items():
        with open(os.path.join(args.out, f'{language}.jsonl'), 'w') as handle:
            handle.writelines(json.dumps(record) + '\n' for record in records)
    print({language: len(records) for language, records in by_language.items()})


if __name__ == '__main__':
    main()
