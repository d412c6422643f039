#!/usr/bin/python3
"""Completes a converted bundled-decoder folder: manifest training fields and the model card (README.md).

Usage: finish_decoder.py MODEL_DIR HF_DIR --checkpoint-kind final|early --structure-md FILE
                         [--structure-json FILE] [--loss-md FILE] [--other-structure-json FILE]
                         [--snapshots-md FILE] [--causal-md FILE]

MODEL_DIR is what `code-attention convert HF_DIR MODEL_DIR` wrote; HF_DIR the Hugging Face folder
train_decoder.py wrote (its training.json holds the run's summary and held-out evaluation). The
manifest gets `checkpoint` (final or early) and `training`, as models/export_onnx.py gives the
bundled encoders; the conversion record stays. STRUCTURE_MD / --structure-json are
models/tools/decoder_structure.py's Markdown and JSON for this checkpoint; --other-structure-json the
other checkpoint's JSON, for the early-against-final line; --loss-md models/tools/loss_curve.py's
summary.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from write_card import LICENCES  # noqa: E402

NAN = float('nan')


def update_manifest(model_dir, training, kind):
    path = os.path.join(model_dir, 'manifest.json')
    with open(path) as handle:
        manifest = json.load(handle)
    manifest['checkpoint'] = kind
    manifest['training'] = training
    with open(path, 'w') as handle:
        json.dump(manifest, handle, indent=2)
        handle.write('\n')
    return manifest


def structure_lines(structure, other, kind):
    def summary(result):
        weight, accuracy = result['previousToken']['bestByWeight'], result['previousToken']['best']
        return (f"previous-token weight L{weight['layer']}H{weight['head']} {weight['weight']:.3f}, accuracy "
                f"L{accuracy['layer']}H{accuracy['head']} {accuracy['accuracy']:.3f}, "
                f"{len(result['sink']['sinkHeads'])} sink heads")

    lines = [f"This checkpoint: {summary(structure)} (chance {structure['previousToken']['chance']:.3f})."]
    if other:
        lines.append(f"The {'early' if kind == 'final' else 'final'} checkpoint on the same windows: {summary(other)}.")
    return lines


def card(manifest, config, training, args):
    heldout = training.get('heldout', {})
    size_mb = os.path.getsize(os.path.join(args.model_dir, 'model.onnx')) / 1e6
    check = training.get('reference_check', {})
    lines = [
        f"# {manifest['displayName']}",
        '',
        f"A {config['num_hidden_layers']}-layer Llama-family decoder (`LlamaForCausalLM` layout: hidden "
        f"{config['hidden_size']}, {config['num_attention_heads']} query heads on {config['num_key_value_heads']} "
        f"key/value heads (grouped-query attention), SwiGLU {config['intermediate_size']}, RMSNorm, rotary positions "
        f"(rope_theta {config['rope_theta']:g}, Hugging Face's half-rotation layout), tied embeddings, vocabulary "
        f"{config['vocab_size']}), trained from scratch as a causal language model by this repository's scripts "
        f"(`models/train.sh --decoder`). Checkpoint: **{manifest['checkpoint']}**.",
        '',
        f"`model.onnx` ({size_mb:.1f} MB) was built by the project's TypeScript converter (`code-attention convert`) "
        'from the Hugging Face folder the training wrote (config.json, model.safetensors, tokenizer.json); it returns '
        '`last_hidden_state`, `attentions` [layers, batch, heads, seq, seq] (after the causal mask: no weight above '
        'the diagonal), `value_norms` [layers, batch, heads, seq]'
        + (' and `value_gram` [layers, batch, seq, heads, heads]' if 'valueGram' in manifest.get('outputs', {}) else '')
        + '. The manifest says `causal: true`, '
        '`tokenization: "raw-text"` (a file is encoded as it is, newlines and indentation included) and `addBos: true` '
        '(every window starts with `<s>`, as every training row did).',
        '',
        'It is tiny and briefly trained on shared CPU cores: it is here so that every decoder code path of the '
        'extension, the CLI and the tests runs on a real trained causal model. For research conclusions, convert a '
        'published code decoder (see `models/README.md`).',
        '',
        '## Training',
        '',
        f"- Steps: {training.get('steps')}, subwords seen: {training.get('tokens_seen'):,} (the corpus has "
        f"{training.get('train_tokens', 0):,}), CPU time of the training process: "
        f"{training.get('cpu_minutes', NAN):.1f} "
        f"minutes ({training.get('wall_minutes', NAN):.0f} wall minutes, {training.get('threads')} thread, niced on a "
        f"shared 2-core machine; Debian's python3-torch {training.get('torch', '')}). Budget: "
        f"{training.get('budget_cpu_minutes', NAN):g} CPU minutes (time.process_time, summed over resumed stretches).",
        f"- Objective: {training.get('objective', '')}. Data: {training.get('data', '')}; rows of "
        + ', '.join(f'{count} × {length}' for count, length in training.get('shapes', [])) + ' subwords (one cycle).',
        f"- Optimiser: {training.get('optimizer', '')}.",
    ]
    if check:
        lines.append(f"- The training model (`models/tools/llama.py`) equals the independent reference "
                     f"(`models/tools/reference_decoders.py`, float64) on these saved weights: attentions within "
                     f"{check['attentions_max_difference']:.1e}, last hidden state within "
                     f"{check['last_hidden_state_max_difference']:.1e} ({check['ids']} subwords).")
    lines += [
        '',
        '## Held-out evaluation (next-subword prediction, files never trained on)',
        '',
        f"{training.get('heldout_windows')} windows of `<s>` + 255 subwords cut from the held-out files; "
        'every position predicts the next subword.',
        '',
        '| | loss (nats) | accuracy |',
        '| --- | ---: | ---: |',
        f"| this checkpoint | {heldout.get('loss', NAN):.3f} | {heldout.get('accuracy', NAN):.3f} |",
        f"| unigram baseline (training frequencies; most frequent subword) | {heldout.get('unigram_loss', NAN):.3f} "
        f"| {heldout.get('unigram_accuracy', NAN):.3f} |",
        '',
        f"Predicted subwords: {heldout.get('predicted_tokens')}.",
    ]
    if args.loss_md:
        with open(args.loss_md) as handle:
            # loss_curve.py words its summary for the encoders' masked-language loss.
            curve = handle.read().strip().replace(' on the masked subwords', ', next-subword cross-entropy')
            lines += ['', '## Loss curve (training loss, next-subword cross-entropy)', '', curve]
        if os.path.exists(os.path.join(args.model_dir, 'loss.csv')):
            lines += ['', 'The whole curve, downsampled: `loss.csv` in this folder.']
    with open(args.structure_md) as handle:
        lines += ['', '## Attention structure', '', handle.read().strip()]
    if args.structure_json:
        with open(args.structure_json) as handle:
            structure = json.load(handle)
        other = None
        if args.other_structure_json and os.path.exists(args.other_structure_json):
            with open(args.other_structure_json) as handle:
                other = json.load(handle)
        lines += [''] + structure_lines(structure, other, manifest['checkpoint'])
    if args.snapshots_md:
        with open(args.snapshots_md) as handle:
            lines += ['', '### How the structure emerged (every snapshot of the run)', '', handle.read().strip(), '',
                      'The early checkpoint is the snapshot nearest 2 % of the final\'s CPU time '
                      '(`train_decoder.py --early-fraction 0.02`), not a tenth: in this short run the '
                      'previous-token head forms within the first snapshots (table), so a tenth of the run already '
                      "has the final's structure. An untrained model's previous-token *accuracy* can be high while "
                      'its weight is at chance: with rotary positions, near-uniform attention has a '
                      'tiny recency bias whose maximum lands on i − 1; the weight is what says a head attends there.']
    if args.causal_md:
        with open(args.causal_md) as handle:
            lines += ['', '## Causal CAT-score, backward data flow and attention sinks', '', handle.read().strip()]
    lines += [
        '',
        'Reproduce: `models/train.sh --decoder --export-only` (after `npm run build`) re-exports both checkpoints '
        'from `models/_work/decoder-run/state.pt` and rewrites these cards; `/usr/bin/python3 '
        'models/tools/decoder_structure.py HF_DIR models/_work/corpus models/_work/tokenizer` prints the structure '
        'table alone.',
        '',
        '## Corpus',
        '',
        'The bundled encoder\'s corpus (real source code from Debian packages, de-duplicated, 2 % of files held out):',
        '',
        '| language | package(s) | licence | training files | training bytes | held-out files |',
        '| --- | --- | --- | ---: | ---: | ---: |',
    ]
    for language, entry in training.get('corpus', {}).items():
        package, licence = LICENCES.get(language, ('', ''))
        lines.append(f"| {language} | {package} | {licence} | {entry['files']} | {entry['bytes']:,} "
                     f"| {entry['heldout_files']} |")
    return '\n'.join(lines) + '\n'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('model_dir')
    parser.add_argument('hf_dir')
    parser.add_argument('--checkpoint-kind', required=True, choices=['final', 'early'])
    parser.add_argument('--structure-md', required=True)
    parser.add_argument('--structure-json')
    parser.add_argument('--other-structure-json')
    parser.add_argument('--loss-md')
    parser.add_argument('--snapshots-md', help="decoder_structure.py --snapshots's table of the run")
    parser.add_argument('--causal-md', help="models/tools/measure_causal.cjs's tables for this checkpoint")
    args = parser.parse_args()
    with open(os.path.join(args.hf_dir, 'training.json')) as handle:
        training = json.load(handle)
    with open(os.path.join(args.hf_dir, 'config.json')) as handle:
        config = json.load(handle)
    manifest = update_manifest(args.model_dir, training, args.checkpoint_kind)
    with open(os.path.join(args.model_dir, 'README.md'), 'w') as handle:
        handle.write(card(manifest, config, training, args))


if __name__ == '__main__':
    main()
