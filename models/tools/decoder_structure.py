#!/usr/bin/python3
"""Attention structure of a trained decoder on held-out corpus files, as Markdown and JSON for its model card.

Usage: decoder_structure.py HF_DIR CORPUS_DIR TOKENIZER_DIR [--windows 48] [--length 256] [--json OUT.json]

HF_DIR is a Hugging Face folder train_decoder.py wrote (config.json + model.safetensors). The held-out
files (CORPUS_DIR/heldout.jsonl, never trained on) are encoded as raw text and cut into windows of
<s> + length - 1 subwords, as train_decoder.py's held-out evaluation cuts them. Measured per head, on
the subword positions the model sees:

- previous-token accuracy: over rows i >= 1, the share whose largest attention weight (j <= i) is on
  i - 1. Chance: a row that puts its maximum on a uniformly random visible position hits i - 1 with
  probability 1 / (i + 1); the chance given is that mean over the same rows.
- attention-sink share: the mean over all rows i of α_i0, the attention on the first position (Gu et
  al. 2024, as src/core/metrics/causalSinks.ts defines it); a head above 0.3 is a sink head. Chance:
  uniform causal attention gives H_T / T (T rows, H_T the T-th harmonic number).
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import ByteLevelBPE  # noqa: E402
from llama import LlamaForCausalLM  # noqa: E402
from safetensors_io import read_checkpoint  # noqa: E402
from train_decoder import heldout_windows  # noqa: E402

SINK_THRESHOLD = 0.3


def load_decoder(folder):
    with open(os.path.join(folder, 'config.json')) as handle:
        config = json.load(handle)
    model = LlamaForCausalLM(config)
    tensors = {name: tensor.float() for name, tensor in read_checkpoint(folder).items()}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if unexpected or set(missing) - {'lm_head.weight'}:
        sys.exit(f'{folder}: weights do not fit llama.py (missing {missing[:4]}, unexpected {unexpected[:4]})')
    model.eval()
    return model, config


@torch.no_grad()
def measure(model, config, windows):
    layers, heads = config['num_hidden_layers'], config['num_attention_heads']
    previous_hits = torch.zeros(layers, heads, dtype=torch.float64)
    sink_sum = torch.zeros(layers, heads, dtype=torch.float64)
    previous_rows = sink_rows = 0
    previous_chance = sink_chance = 0.0
    for window in windows:
        _hidden, attentions = model.model(torch.tensor([window]), keep_probabilities=True)
        n = len(window)
        rows = torch.arange(1, n)
        for layer, probabilities in enumerate(attentions):
            weights = probabilities[0].double()  # [heads, n, n]
            previous_hits[layer] += (weights[:, 1:].argmax(-1) == (rows - 1)).sum(-1).double()
            sink_sum[layer] += weights[:, :, 0].sum(-1)
        previous_rows += n - 1
        previous_chance += sum(1.0 / (i + 1) for i in range(1, n))
        sink_rows += n
        sink_chance += sum(1.0 / (i + 1) for i in range(n))
    previous = (previous_hits / previous_rows).tolist()
    sinks = (sink_sum / sink_rows).tolist()
    best_layer, best_head = divmod(int(torch.tensor(previous).flatten().argmax()), heads)
    sink_heads = [{'layer': l, 'head': h, 'share': sinks[l][h]}
                  for l in range(layers) for h in range(heads) if sinks[l][h] > SINK_THRESHOLD]
    return {
        'windows': len(windows), 'subwords': sink_rows,
        'previousToken': {'perHead': previous, 'chance': previous_chance / previous_rows, 'rows': previous_rows,
                          'best': {'layer': best_layer, 'head': best_head,
                                   'accuracy': previous[best_layer][best_head]}},
        'sink': {'perHead': sinks, 'chance': sink_chance / sink_rows, 'threshold': SINK_THRESHOLD,
                 'sinkHeads': sorted(sink_heads, key=lambda entry: -entry['share']),
                 'sinkRate': len(sink_heads) / (layers * heads)},
    }


def markdown(result):
    previous, sink = result['previousToken'], result['sink']
    heads = len(previous['perHead'][0])
    lines = [
        f"Measured on {result['windows']} held-out windows ({result['subwords']:,} subwords, files never trained on) "
        'by `models/tools/decoder_structure.py`.',
        '',
        f"Previous-token accuracy per head (share of rows i ≥ 1 whose strongest weight is on i − 1; chance "
        f"{previous['chance']:.3f} = mean 1/(i + 1)) and attention-sink share (mean weight on the first position "
        f"over all rows; chance {sink['chance']:.3f} = H_T/T of uniform causal attention; sink head above "
        f"{sink['threshold']}):",
        '',
        '| layer | ' + ' | '.join(f'H{h} prev-token' for h in range(heads)) + ' | '
        + ' | '.join(f'H{h} sink' for h in range(heads)) + ' |',
        '| --- |' + ' ---: |' * (2 * heads),
    ]
    for layer, (row, sink_row) in enumerate(zip(previous['perHead'], sink['perHead'])):
        lines.append(f'| L{layer} | ' + ' | '.join(f'{value:.3f}' for value in row) + ' | '
                     + ' | '.join(f'{value:.3f}' for value in sink_row) + ' |')
    best = previous['best']
    named = ', '.join(f"L{entry['layer']}H{entry['head']} {entry['share']:.2f}" for entry in sink['sinkHeads'])
    lines += ['', f"Best previous-token head: L{best['layer']}H{best['head']} {best['accuracy']:.3f} "
                  f"(chance {previous['chance']:.3f}). Sink heads (> {sink['threshold']}): "
                  f"{len(sink['sinkHeads'])} of {len(previous['perHead']) * heads}"
                  + (f' ({named})' if named else '') + '.']
    return '\n'.join(lines) + '\n'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('folder')
    parser.add_argument('corpus')
    parser.add_argument('tokenizer')
    parser.add_argument('--windows', type=int, default=48)
    parser.add_argument('--length', type=int, default=256)
    parser.add_argument('--json')
    args = parser.parse_args()
    torch.set_num_threads(1)
    tokenizer = ByteLevelBPE.load(args.tokenizer)
    streams = []
    with open(os.path.join(args.corpus, 'heldout.jsonl')) as handle:
        for line in handle:
            record = json.loads(line)
            streams.append((record['language'], tokenizer.encode(record['text'])))
    # Spread the windows over the languages: the held-out file order groups files by language.
    windows = heldout_windows(streams, args.length, 10 ** 9)
    stride = max(1, len(windows) // args.windows)
    windows = windows[::stride][:args.windows]
    model, config = load_decoder(args.folder)
    result = measure(model, config, windows)
    if args.json:
        with open(args.json, 'w') as handle:
            json.dump(result, handle, indent=2)
    sys.stdout.write(markdown(result))


if __name__ == '__main__':
    main()
