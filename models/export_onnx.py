#!/usr/bin/python3
"""Exports a Hugging Face RoBERTa checkpoint (ours, CodeBERT, GraphCodeBERT, …) for the extension.

Usage: export_onnx.py CHECKPOINT_DIR OUT_DIR [--name NAME] [--display-name TEXT]
                      [--checkpoint final|early|external] [--languages python,java,…]
                      [--parity-fixture PATH] [--skip-check]

CHECKPOINT_DIR holds config.json, pytorch_model.bin and either tokenizer.json or vocab.json +
merges.txt. OUT_DIR receives model.onnx, config.json, tokenizer.json (built from vocab.json and
merges.txt when the checkpoint has none), vocab.json, merges.txt and manifest.json.

The ONNX graph takes `input_ids` and `attention_mask` (int64, [batch, seq], both dynamic) and
returns `last_hidden_state` [batch, seq, hidden], `attentions` [layers, batch, heads, seq, seq]
(softmax probabilities), `value_norms` [layers, batch, heads, seq] (‖f_h(x_j)‖ with
f_h(x) = (x W_V^h + b_V^h) W_O^h, Kobayashi et al. 2020) and `value_gram` [layers, batch, seq, heads,
heads] (G_j[h, h'] = <f_h(x_j), f_h'(x_j)>, from which the layer-level norm ‖Σ_h α_h(i, j) f_h(x_j)‖
= sqrt(α(i, j)ᵀ G_j α(i, j)) follows exactly; models exported before it lack it and still load).
Before export, that identity is checked against a direct computation of ‖Σ_h α_h f_h(x_j)‖ in
PyTorch. After export, onnxruntime in Node is run on real inputs, one of them padded, and compared
with PyTorch: every output must agree to 1e-4 (value_gram relative to its largest entry), or the export fails.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'tools'))
from bpe import ByteLevelBPE, tokenizer_json  # noqa: E402
from roberta import load_encoder  # noqa: E402

ALL_LANGUAGES = ['python', 'java', 'javascript', 'go', 'ruby', 'php', 'typescript']
TOLERANCE = 1e-4
PROBE_SNIPPETS = [
    'def mean(values):\n    total = 0\n    for value in values:\n        total += value\n    return total / len(values)\n',
    'int max(int a, int b) { return a > b ? a : b; }',
]


class ExportWrapper(torch.nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids, attention_mask):
        hidden, attentions, norms, grams = self.encoder(
            input_ids, attention_mask, with_attentions=True, with_value_norms=True, with_value_grams=True)
        return hidden, torch.stack(attentions), torch.stack(norms), torch.stack(grams)


def direct_layer_value_weighted(encoder, input_ids, attention_mask):
    """‖Σ_h α_h(i, j) f_h(x_j)‖ per layer, computed from the vectors themselves: [layers, batch, seq, seq]."""
    captured = []
    hooks = [layer.attention.self.register_forward_hook(lambda module, args, output: captured.append(output))
             for layer in encoder.encoder.layer]
    try:
        encoder(input_ids, attention_mask)
    finally:
        for hook in hooks:
            hook.remove()
    result = []
    for layer, (_, probs, value) in zip(encoder.encoder.layer, captured):
        transformed = layer.attention.value_transforms(value)  # [batch, heads, seq, hidden]
        summed = torch.einsum('bhij,bhjd->bijd', probs, transformed)  # Σ_h α_h(i, j) f_h(x_j)
        result.append(torch.linalg.vector_norm(summed, dim=-1))
    return torch.stack(result)


def layer_value_weighted_from_gram(attentions, grams):
    """sqrt(α(i, j)ᵀ G_j α(i, j)) from the exported outputs: [layers, batch, seq, seq]."""
    quadratic = torch.einsum('lbhij,lbjhk,lbkij->lbij', attentions, grams, attentions)
    return torch.sqrt(torch.clamp(quadratic, min=0))


def check_gram_identity(encoder, wrapper, ids, mask):
    with torch.no_grad():
        _, attentions, norms, grams = wrapper(ids, mask)
        direct = direct_layer_value_weighted(encoder, ids, mask)
    from_gram = layer_value_weighted_from_gram(attentions, grams)
    valid = mask.bool()[None, :, :, None] & mask.bool()[None, :, None, :]
    worst = ((from_gram - direct).abs() / direct.abs().clamp(min=1))[valid.expand_as(direct)].max().item()
    diagonal = torch.diagonal(grams, dim1=-2, dim2=-1).permute(0, 1, 3, 2)  # [layers, batch, heads, seq]
    worst_diagonal = ((diagonal.clamp(min=0).sqrt() - norms).abs() / norms.clamp(min=1)).max().item()
    print(f'layer-level value-weighted attention: sqrt(αᵀGα) vs direct ‖Σ_h α f_h(x)‖: {worst:.2e} (relative); '
          f'sqrt(diagonal of G) vs value_norms: {worst_diagonal:.2e}')
    if worst > TOLERANCE or worst_diagonal > TOLERANCE:
        sys.exit('The value Gram matrices do not reproduce ‖Σ_h α f_h(x)‖: export stopped.')


def ensure_tokenizer(checkpoint, out):
    for name in ('vocab.json', 'merges.txt', 'tokenizer_config.json'):
        if os.path.exists(os.path.join(checkpoint, name)):
            shutil.copy(os.path.join(checkpoint, name), os.path.join(out, name))
    if os.path.exists(os.path.join(checkpoint, 'tokenizer.json')):
        shutil.copy(os.path.join(checkpoint, 'tokenizer.json'), os.path.join(out, 'tokenizer.json'))
        return
    vocab_path, merges_path = os.path.join(checkpoint, 'vocab.json'), os.path.join(checkpoint, 'merges.txt')
    if not (os.path.exists(vocab_path) and os.path.exists(merges_path)):
        sys.exit(f'{checkpoint} has neither tokenizer.json nor vocab.json + merges.txt: copy the tokenizer files of the checkpoint there.')
    with open(vocab_path) as handle:
        vocab = json.load(handle)
    with open(merges_path) as handle:
        merges = [line.split() for line in handle.read().splitlines() if line and not line.startswith('#version')]
    with open(os.path.join(out, 'tokenizer.json'), 'w') as handle:
        json.dump(tokenizer_json(vocab, merges), handle, ensure_ascii=False)


def probe_inputs(out, config):
    vocab_path = os.path.join(out, 'vocab.json')
    if os.path.exists(vocab_path) and os.path.exists(os.path.join(out, 'merges.txt')):
        tokenizer = ByteLevelBPE.load(out)
        rows = [[config.bos_token_id] + tokenizer.encode(text) + [config.eos_token_id] for text in PROBE_SNIPPETS]
    else:
        generator = torch.Generator().manual_seed(3)
        rows = [[0] + torch.randint(5, min(config.vocab_size, 8000), (n,), generator=generator).tolist() + [2] for n in (40, 17)]
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), config.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        ids[index, :len(row)] = torch.tensor(row)
        mask[index, :len(row)] = 1
    return ids, mask


def check_with_node(model_path, wrapper, ids, mask):
    with torch.no_grad():
        expected = wrapper(ids, mask)
    payload = {
        'model': model_path,
        'inputs': [{'ids': ids[i].tolist(), 'mask': mask[i].tolist()} for i in range(ids.shape[0])] + [
            {'ids': ids[i, :int(mask[i].sum())].tolist(), 'mask': mask[i, :int(mask[i].sum())].tolist()} for i in range(ids.shape[0])],
        'batched': True,
        'expected': {
            'last_hidden_state': expected[0].flatten().tolist(),
            'attentions': expected[1].flatten().tolist(),
            'value_norms': expected[2].flatten().tolist(),
            'value_gram': expected[3].flatten().tolist(),
        },
        'tolerance': TOLERANCE,
    }
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump(payload, handle)
    result = subprocess.run(['node', os.path.join(HERE, 'tools', 'check_onnx.cjs'), handle.name], capture_output=True, text=True)
    os.unlink(handle.name)
    print(result.stdout.strip())
    if result.returncode != 0:
        sys.exit(f'ONNX check failed: {result.stderr.strip() or result.stdout.strip()}')


def write_parity_fixture(path, encoder, wrapper, ids, mask):
    length = int(mask[0].sum())
    row = ids[:1, :length]
    with torch.no_grad():
        hidden, attentions, norms, grams = wrapper(row, torch.ones_like(row))
        direct = direct_layer_value_weighted(encoder, row, torch.ones_like(row))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        json.dump({
            'description': 'PyTorch outputs of the bundled final model for one snippet, to check the Node runner against.',
            'text': PROBE_SNIPPETS[0],
            'ids': row[0].tolist(),
            'attentionsShape': list(attentions[:, 0].shape),
            'attentions': [round(v, 7) for v in attentions[:, 0].flatten().tolist()],
            'valueNormsShape': list(norms[:, 0].shape),
            'valueNorms': [round(v, 6) for v in norms[:, 0].flatten().tolist()],
            'valueGramShape': list(grams[:, 0].shape),
            'valueGram': [round(v, 5) for v in grams[:, 0].flatten().tolist()],
            'layerValueWeightedDescription': '‖Σ_h α_h(i, j) f_h(x_j)‖ per layer, computed from the vectors '
                                             'f_h(x_j) = (x_j W_V^h + b_V^h) W_O^h in PyTorch (not from the Gram matrices).',
            'layerValueWeightedShape': list(direct[:, 0].shape),
            'layerValueWeighted': [round(v, 6) for v in direct[:, 0].flatten().tolist()],
        }, handle)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    parser.add_argument('--name')
    parser.add_argument('--display-name')
    parser.add_argument('--checkpoint-kind', default='external', choices=['final', 'early', 'external'])
    parser.add_argument('--languages', default=','.join(ALL_LANGUAGES))
    parser.add_argument('--parity-fixture')
    parser.add_argument('--skip-check', action='store_true')
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)

    encoder, config = load_encoder(args.checkpoint)
    wrapper = ExportWrapper(encoder).eval()
    ensure_tokenizer(args.checkpoint, args.out)
    with open(os.path.join(args.out, 'config.json'), 'w') as handle:
        json.dump(dict(config), handle, indent=2)
    ids, mask = probe_inputs(args.out, config)
    check_gram_identity(encoder, wrapper, ids, mask)
    model_path = os.path.join(args.out, 'model.onnx')
    torch.onnx.export(
        wrapper, (ids, mask), model_path, opset_version=14,
        input_names=['input_ids', 'attention_mask'],
        output_names=['last_hidden_state', 'attentions', 'value_norms', 'value_gram'],
        dynamic_axes={
            'input_ids': {0: 'batch', 1: 'sequence'},
            'attention_mask': {0: 'batch', 1: 'sequence'},
            'last_hidden_state': {0: 'batch', 1: 'sequence'},
            'attentions': {1: 'batch', 3: 'sequence', 4: 'sequence'},
            'value_norms': {1: 'batch', 3: 'sequence'},
            'value_gram': {1: 'batch', 2: 'sequence'},
        },
    )
    training = {}
    summary_path = os.path.join(args.checkpoint, 'training.json')
    if os.path.exists(summary_path):
        with open(summary_path) as handle:
            training = json.load(handle)
    name = args.name or os.path.basename(os.path.normpath(args.out))
    manifest = {
        'name': name,
        'displayName': args.display_name or name,
        'family': 'roberta',
        'checkpoint': args.checkpoint_kind,
        'languages': [language for language in args.languages.split(',') if language],
        'maxPositions': config.max_position_embeddings - config.pad_token_id - 1,
        'layers': config.num_hidden_layers,
        'heads': config.num_attention_heads,
        'hiddenSize': config.hidden_size,
        'vocabSize': config.vocab_size,
        'specialTokens': {'bos': config.bos_token_id, 'pad': config.pad_token_id, 'eos': config.eos_token_id, 'unk': 3, 'mask': 4},
        'inputs': ['input_ids', 'attention_mask'],
        'outputs': {'lastHiddenState': 'last_hidden_state', 'attentions': 'attentions', 'valueNorms': 'value_norms',
                    'valueGram': 'value_gram'},
        'training': training,
    }
    vocab_path = os.path.join(args.out, 'vocab.json')
    if os.path.exists(vocab_path):
        with open(vocab_path) as handle:
            vocab = json.load(handle)
        manifest['specialTokens'] = {key: vocab.get(token, default) for key, token, default in (
            ('bos', '<s>', 0), ('pad', '<pad>', 1), ('eos', '</s>', 2), ('unk', '<unk>', 3), ('mask', '<mask>', 4))}
    with open(os.path.join(args.out, 'manifest.json'), 'w') as handle:
        json.dump(manifest, handle, indent=2)
    size_mb = os.path.getsize(model_path) / 1e6
    print(f'exported {model_path} ({size_mb:.1f} MB)')
    if not args.skip_check:
        check_with_node(model_path, wrapper, ids, mask)
    if args.parity_fixture:
        write_parity_fixture(args.parity_fixture, encoder, wrapper, ids, mask)


if __name__ == '__main__':
    main()
