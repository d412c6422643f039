#!/usr/bin/python3
"""Builds the training corpus from real source code that Debian packages install.

Packages (all installed with apt-get; licences as their Debian copyright files state):
  python    libpython3.11-stdlib (/usr/lib/python3.11)            PSF-2.0
  java      openjdk-17-source (/usr/lib/jvm/openjdk-17/lib/src.zip) GPL-2.0 with Classpath exception
  go        golang-1.19-src (/usr/share/go-1.19/src)              BSD-3-Clause
  ruby      libruby3.1 (/usr/lib/ruby/3.1.0)                      Ruby or BSD-2-Clause
  php       composer, php-symfony-console and their dependencies (/usr/share/php)  MIT
  javascript node-* packages, e.g. node-lodash, node-typescript (/usr/share/nodejs)  mostly MIT
  typescript declaration files shipped by node-* packages (/usr/share/nodejs/**/*.d.ts)  mostly MIT/Apache-2.0

Files are de-duplicated by content hash, files over MAX_FILE_BYTES are dropped, each language's
training files are capped at --cap-mb, and the files whose hash falls in the first 2 % are held out
(up to --heldout-kb per language, in hash order): a file's split depends on its content alone, so a
held-out file was never trained on by any model trained from this script, on any machine.
Output: OUT/train.jsonl and OUT/heldout.jsonl with {"language", "path", "text"} per line, and
OUT/stats.json.
"""
import argparse
import hashlib
import json
import os
import random
import zipfile

MAX_FILE_BYTES = 100_000
MIN_FILE_BYTES = 200

SOURCES = {
    'python': [('dir', '/usr/lib/python3.11', ('.py',))],
    'java': [('zip', '/usr/lib/jvm/openjdk-17/lib/src.zip', ('.java',))],
    'go': [('dir', '/usr/share/go-1.19/src', ('.go',))],
    'ruby': [('dir', '/usr/lib/ruby/3.1.0', ('.rb',))],
    'php': [('dir', '/usr/share/php', ('.php',))],
    'javascript': [('dir', '/usr/share/nodejs', ('.js', '.mjs', '.cjs'))],
    'typescript': [('dir', '/usr/share/nodejs', ('.ts',))],
}


def iter_dir(root, suffixes):
    for folder, dirs, files in os.walk(root):
        dirs.sort()  # os.walk lists folders in the file system's order, which differs between machines
        for name in sorted(files):
            if not name.endswith(suffixes) or name.endswith('.min.js'):
                continue
            path = os.path.join(folder, name)
            try:
                size = os.path.getsize(path)
                if MIN_FILE_BYTES <= size <= MAX_FILE_BYTES:
                    with open(path, 'rb') as handle:
                        yield path, handle.read()
            except OSError:
                continue


def iter_zip(archive, suffixes):
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if info.filename.endswith(suffixes) and MIN_FILE_BYTES <= info.file_size <= MAX_FILE_BYTES:
                yield archive + '!' + info.filename, zf.read(info)


def is_held_out(digest, share):
    return int(digest[:8], 16) / 0xFFFFFFFF < share


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('out')
    parser.add_argument('--cap-mb', type=float, default=5.0)
    parser.add_argument('--heldout-share', type=float, default=0.02)
    parser.add_argument('--heldout-kb', type=float, default=250.0, help='held-out bytes per language at most')
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    seen = set()
    stats = {}
    rng = random.Random(13)
    with open(os.path.join(args.out, 'train.jsonl'), 'w') as train, open(os.path.join(args.out, 'heldout.jsonl'), 'w') as heldout:
        for language, sources in SOURCES.items():
            files = []
            for kind, root, suffixes in sources:
                iterator = iter_zip(root, suffixes) if kind == 'zip' else iter_dir(root, suffixes)
                for path, raw in iterator:
                    try:
                        text = raw.decode('utf-8')
                    except UnicodeDecodeError:
                        continue
                    if '\x00' in text:
                        continue
                    digest = hashlib.sha1(raw).hexdigest()
                    if digest in seen:
                        continue
                    seen.add(digest)
                    files.append((digest, path, text))
            # A file is held out by its hash alone, so it is never trained on whatever order the
            # files come in; held-out files are taken in hash order, training files in a seeded shuffle.
            held = sorted(item for item in files if is_held_out(item[0], args.heldout_share))
            train_files = [item for item in files if not is_held_out(item[0], args.heldout_share)]
            rng.shuffle(train_files)
            entry = {'files': 0, 'bytes': 0, 'heldout_files': 0, 'heldout_bytes': 0, 'available_files': len(files)}
            for digest, path, text in held:
                if entry['heldout_bytes'] >= args.heldout_kb * 1000:
                    break
                heldout.write(json.dumps({'language': language, 'path': path, 'text': text}) + '\n')
                entry['heldout_files'] += 1
                entry['heldout_bytes'] += len(text.encode('utf-8'))
            for digest, path, text in train_files:
                if entry['bytes'] >= int(args.cap_mb * 1_000_000):
                    break
                train.write(json.dumps({'language': language, 'path': path, 'text': text}) + '\n')
                entry['files'] += 1
                entry['bytes'] += len(text.encode('utf-8'))
            stats[language] = entry
            print(language, entry, flush=True)
    with open(os.path.join(args.out, 'stats.json'), 'w') as handle:
        json.dump(stats, handle, indent=2)


if __name__ == '__main__':
    main()
