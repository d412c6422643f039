#!/usr/bin/python3
"""Attention structure of a trained decoder on held-out corpus files, as Markdown and JSON for its model card.

Usage: decoder_structure.py HF_DIR CORPUS_DIR TOKENIZER_DIR [--windows 48] [--length 256] [--json OUT.json]
       decoder_structure.py RUN_DIR CORPUS_DIR TOKENIZER_DIR --snapshots [--windows 8]   (every snapshot)

HF_DIR is a Hugging Face folder train_decoder.py wrote (config.json + model.safetensors). The held-out
files (CORPUS_DIR/heldout.jsonl, never trained on) are encoded as raw text and cut into windows of
<s> + length - 1 subwords, as train_decoder.py's held-out evaluation cuts them. Measured per head, on
the subword positions the model sees:

- previous-token weight: the mean over rows i >= 1 of α(i, i - 1). Chance: uniform causal attention
  gives 1 / (i + 1); the chance given is that mean over the same rows.
- previous-token accuracy: over rows i >= 1, the share whose largest attention weight (j <= i) is on
  i - 1 (how the encoder cards count heads). Chance: a maximum on a uniformly random visible position
  hits i - 1 with probability 1 / (i + 1), the same mean. Caveat: with rotary positions, near-uniform
  attention (an untrained model) has a tiny recency bias whose argmax lands on i - 1 almost always
  while the weight there is at chance; the weight is the measure that says a head attends there.
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
    previous_weight = torch.zeros(layers, heads, dtype=torch.float64)
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
            previous_weight[layer] += weights[:, rows, rows - 1].sum(-1)
            sink_sum[layer] += weights[:, :, 0].sum(-1)
        previous_rows += n - 1
        previous_chance += sum(1.0 / (i + 1) for i in range(1, n))
        sink_rows += n
        sink_chance += sum(1.0 / (i + 1) for i in range(n))
    accuracy = (previous_hits / previous_rows).tolist()
    weight = (previous_weight / previous_rows).tolist()
    sinks = (sink_sum / sink_rows).tolist()

    def best_of(table, key):
        layer, head = divmod(int(torch.tensor(table).flatten().argmax()), heads)
        return {'layer': layer, 'head': head, key: table[layer][head]}

    sink_heads = [{'layer': l, 'head': h, 'share': sinks[l][h]}
                  for l in range(layers) for h in range(heads) if sinks[l][h] > SINK_THRESHOLD]
    return {
        'windows': len(windows), 'subwords': sink_rows,
        'previousToken': {'perHead': accuracy, 'weightPerHead': weight, 'chance': previous_chance / previous_rows,
                          'rows': previous_rows, 'best': best_of(accuracy, 'accuracy'),
                          'bestByWeight': best_of(weight, 'weight')},
        'sink': {'perHead': sinks, 'chance': sink_chance / sink_rows, 'threshold': SINK_THRESHOLD,
                 'sinkHeads': sorted(sink_heads, key=lambda entry: -entry['share']),
                 'sinkRate': len(sink_heads) / (layers * heads)},
    }


def table(title, per_head):
    heads = len(per_head[0])
    lines = [title, '', '| layer | ' + ' | '.join(f'H{h}' for h in range(heads)) + ' |', '| --- |' + ' ---: |' * heads]
    for layer, row in enumerate(per_head):
        lines.append(f'| L{layer} | ' + ' | '.join(f'{value:.3f}' for value in row) + ' |')
    return lines + ['']


def markdown(result):
    previous, sink = result['previousToken'], result['sink']
    chance = previous['chance']
    lines = [
        f"Measured on {result['windows']} held-out windows ({result['subwords']:,} subwords, files never trained on) "
        'by `models/tools/decoder_structure.py`.',
        '',
    ]
    lines += table(f'Previous-token weight per head: mean α(i, i − 1) over rows i ≥ 1 (chance {chance:.3f} = mean '
                   '1/(i + 1), uniform causal attention).', previous['weightPerHead'])
    lines += table('Previous-token accuracy per head: share of rows i ≥ 1 whose strongest weight (j ≤ i) is on '
                   f'i − 1 (chance {chance:.3f}: a uniformly random visible position).', previous['perHead'])
    lines += table(f"Attention-sink share per head: mean weight on the first position over all rows (chance "
                   f"{sink['chance']:.3f} = H_T/T of uniform causal attention; a sink head is above "
                   f"{sink['threshold']}, as Gu et al. 2024 count them).", sink['perHead'])
    by_weight, by_accuracy = previous['bestByWeight'], previous['best']
    named = ', '.join(f"L{entry['layer']}H{entry['head']} {entry['share']:.2f}" for entry in sink['sinkHeads'])
    lines += [f"Strongest previous-token head by weight: L{by_weight['layer']}H{by_weight['head']} "
              f"{by_weight['weight']:.3f}; by accuracy: L{by_accuracy['layer']}H{by_accuracy['head']} "
              f"{by_accuracy['accuracy']:.3f} (chance {chance:.3f} for both). Sink heads (> {sink['threshold']}): "
              f"{len(sink['sinkHeads'])} of {len(previous['perHead']) * len(previous['perHead'][0])}"
              + (f' ({named})' if named else '') + '.']
    return '\n'.join(lines) + '\n'


def scan_snapshots(run, config, windows):
    """One row per snapshot of a run: how the structure emerged (train_decoder.py keeps model-only snapshots)."""
    with open(os.path.join(run, 'state.pt'), 'rb') as handle:
        snapshots = torch.load(handle, map_location='cpu')['snapshots']
    lines = ['| snapshot | step | CPU minutes | subwords seen | best previous-token weight | best previous-token '
             'accuracy | largest sink share |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |']
    rows = []
    for entry in snapshots:
        model = LlamaForCausalLM(config)
        model.load_state_dict(torch.load(os.path.join(run, 'snapshots', entry['file']), map_location='cpu'))
        model.eval()
        result = measure(model, config, windows)
        weight = result['previousToken']['bestByWeight']
        accuracy = result['previousToken']['best']
        sink = max(max(row) for row in result['sink']['perHead'])
        rows.append({**entry, 'previousWeight': weight['weight'], 'previousAccuracy': accuracy['accuracy'],
                     'largestSink': sink, 'chance': result['previousToken']['chance']})
        lines.append(f"| {entry['file']} | {entry['steps']} | {entry['cpu_minutes']:.1f} | {entry['tokens_seen']:,} "
                     f"| L{weight['layer']}H{weight['head']} {weight['weight']:.3f} "
                     f"| L{accuracy['layer']}H{accuracy['head']} {accuracy['accuracy']:.3f} | {sink:.3f} |")
    chance = rows[0]['chance'] if rows else float('nan')
    lines += ['', f'Chance: {chance:.3f} for the previous-token weight and accuracy; measured on {len(windows)} '
                  'held-out windows.']
    return rows, '\n'.join(lines) + '\n'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('folder')
    parser.add_argument('corpus')
    parser.add_argument('tokenizer')
    parser.add_argument('--windows', type=int, default=48)
    parser.add_argument('--length', type=int, default=256)
    parser.add_argument('--json')
    parser.add_argument('--snapshots', action='store_true',
                        help='FOLDER is a run folder: measure every snapshot (fewer windows suffice: --windows 8)')
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
    if args.snapshots:
        with open(os.path.join(args.folder, 'initial', 'config.json')) as handle:
            config = json.load(handle)
        result, text = scan_snapshots(args.folder, config, windows)
        if args.json:
            with open(args.json, 'w') as handle:
                json.dump(result, handle, indent=2)
        sys.stdout.write(text)
        return
    model, config = load_decoder(args.folder)
    result = measure(model, config, windows)
    if args.json:
        with open(args.json, 'w') as handle:
            json.dump(result, handle, indent=2)
    sys.stdout.write(markdown(result))


if __name__ == '__main__':
    main()
