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

Files are de-duplicated by content hash, files over MAX_FILE_BYTES are dropped, each language is
capped at --cap-mb, and about 2 % of files (chosen by hash, so the split is stable) are held out.
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
    for folder, _dirs, files in os.walk(root):
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('out')
    parser.add_argument('--cap-mb', type=float, default=5.0)
    parser.add_argument('--heldout-share', type=float, default=0.02)
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
            rng.shuffle(files)
            cap = int(args.cap_mb * 1_000_000)
            entry = {'files': 0, 'bytes': 0, 'heldout_files': 0, 'heldout_bytes': 0, 'available_files': len(files)}
            for digest, path, text in files:
                if entry['bytes'] + entry['heldout_bytes'] >= cap:
                    break
                record = json.dumps({'language': language, 'path': path, 'text': text})
                size = len(text.encode('utf-8'))
                if int(digest[:8], 16) / 0xFFFFFFFF < args.heldout_share:
                    heldout.write(record + '\n')
                    entry['heldout_files'] += 1
                    entry['heldout_bytes'] += size
                else:
                    train.write(record + '\n')
                    entry['files'] += 1
                    entry['bytes'] += size
            stats[language] = entry
            print(language, entry, flush=True)
    with open(os.path.join(args.out, 'stats.json'), 'w') as handle:
        json.dump(stats, handle, indent=2)


if __name__ == '__main__':
    main()
