#!/usr/bin/python3
"""Writes the model card (README.md) of an exported bundled model.

Usage: write_card.py EXPORT_DIR STRUCTURE_MD [--forward-md FILE] [--loss-md FILE]
EXPORT_DIR holds manifest.json (with the training summary); STRUCTURE_MD is the output of
models/tools/measure_structure.cjs for that model; --loss-md the summary printed by
models/tools/loss_curve.py; --forward-md forward times (models/tools/bench_forward.cjs).
"""
import argparse
import json
import os

LICENCES = {
    'python': ('libpython3.11-stdlib', 'PSF-2.0'),
    'java': ('openjdk-17-source', 'GPL-2.0 with Classpath exception'),
    'go': ('golang-1.19-src', 'BSD-3-Clause'),
    'ruby': ('libruby3.1', 'Ruby or BSD-2-Clause'),
    'php': ('composer, php-symfony-console and dependencies', 'MIT'),
    'javascript': ('node-* packages (e.g. node-lodash, node-typescript)', 'mostly MIT'),
    'typescript': ('declaration files of node-* packages', 'mostly MIT / Apache-2.0'),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('export')
    parser.add_argument('structure')
    parser.add_argument('--forward-md')
    parser.add_argument('--loss-md')
    args = parser.parse_args()
    manifest = json.load(open(os.path.join(args.export, 'manifest.json')))
    training = manifest.get('training', {})
    heldout = training.get('heldout', {})
    corpus = training.get('corpus', {})
    size_mb = os.path.getsize(os.path.join(args.export, 'model.onnx')) / 1e6
    lines = [
        f"# {manifest['displayName']}",
        '',
        f"A {manifest['layers']}-layer RoBERTa encoder with exactly CodeBERT's architecture and Hugging Face layout "
        f"({manifest['hiddenSize']} hidden, {manifest['heads']} heads, {4 * manifest['hiddenSize']} intermediate, vocabulary {manifest['vocabSize']}, "
        f"514 positions with padding offset 2, post-layer-norm, GELU), trained from scratch with masked-language modelling by this repository's "
        f"scripts (`models/train.sh`). Checkpoint: **{manifest['checkpoint']}**. `model.onnx` ({size_mb:.1f} MB) returns `last_hidden_state`, "
        "`attentions` [layers, batch, heads, seq, seq] and `value_norms` [layers, batch, heads, seq]; its outputs equal PyTorch's to within 2e-6 "
        "(checked by `models/export_onnx.py` in onnxruntime-node, which fails above 1e-4).",
        '',
        f"It is a small model trained for {training.get('minutes', 0):.0f} minutes on two CPU cores: it is here so that the extension, the CLI and the tests run on a real, "
        'trained code model out of the box. For research conclusions, export a real CodeBERT-family checkpoint (see `models/README.md`).',
        '',
        '## Training',
        '',
        f"- Steps: {training.get('steps')}, subword tokens seen: {training.get('tokens_seen'):,}, wall time: {training.get('minutes', 0):.1f} minutes on 2 threads "
        f"(Debian's python3-torch 1.13 with OpenBLAS).",
        f"- Objective: MLM, {int(100 * training.get('mask_rate', 0.15))} % of subwords (80 % `<mask>`, 10 % random, 10 % kept); "
        f"{training.get('optimizer', '')}; sequences of {' and '.join(str(x) for x in training.get('trained_lengths', []))} subwords (one batch in eight at 512).",
        '',
        '## Held-out evaluation (masked-language modelling, 2 % of files held out)',
        '',
        '| | loss (nats) | accuracy |',
        '| --- | ---: | ---: |',
        f"| this checkpoint | {heldout.get('loss', float('nan')):.3f} | {heldout.get('accuracy', float('nan')):.3f} |",
        f"| unigram baseline (training frequencies; most frequent token) | {heldout.get('unigram_loss', float('nan')):.3f} | {heldout.get('unigram_accuracy', float('nan')):.3f} |",
        '',
        f"Masked tokens evaluated: {heldout.get('masked_tokens')}.",
        '',
        '## Corpus',
        '',
        'Real source code installed from Debian packages, de-duplicated by content hash, files of 200 B – 100 KB, capped per language:',
        '',
        '| language | package(s) | licence | training files | training bytes | held-out files |',
        '| --- | --- | --- | ---: | ---: | ---: |',
    ]
    for language, entry in corpus.items():
        package, licence = LICENCES.get(language, ('', ''))
        lines.append(f"| {language} | {package} | {licence} | {entry['files']} | {entry['bytes']:,} | {entry['heldout_files']} |")
    if args.loss_md:
        lines += ['', '## Loss curve', '', open(args.loss_md).read().strip()]
    lines += ['', '## Attention structure', '', open(args.structure).read().strip(), '']
    if args.forward_md:
        lines += ['## Speed', '', open(args.forward_md).read().strip(), '']
    with open(os.path.join(args.export, 'README.md'), 'w') as handle:
        handle.write('\n'.join(lines))


if __name__ == '__main__':
    main()
