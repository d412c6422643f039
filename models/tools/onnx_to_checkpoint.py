#!/usr/bin/python3
"""Rebuilds a checkpoint directory from a model folder exported by models/export_onnx.py.

Usage: onnx_to_checkpoint.py MODEL_DIR OUT_DIR

The bundled models ship only model.onnx and the tokenizer. Their weights are the ONNX graph's
initializers: the named ones are the encoder's parameters (prefixed `encoder.` by the export
wrapper); the unnamed MatMul operands are linear weights, transposed, and are named here by the
bias their product is added to. OUT_DIR receives config.json, pytorch_model.bin, the tokenizer
files and training.json (from the manifest), which is what export_onnx.py reads, so that a model
can be re-exported with new outputs and the same weights, bit for bit.
"""
import json
import os
import shutil
import sys

import onnx
import torch
from onnx import numpy_helper

TOKENIZER_FILES = ('vocab.json', 'merges.txt', 'tokenizer.json', 'tokenizer_config.json')


def encoder_name(name):
    return name[len('encoder.'):] if name.startswith('encoder.') else name


def encoder_state(model_dir):
    """The encoder's parameters (RobertaModel names) from MODEL_DIR/model.onnx, checked complete."""
    graph = onnx.load(os.path.join(model_dir, 'model.onnx')).graph
    initializers = {item.name: numpy_helper.to_array(item) for item in graph.initializer}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    state = {encoder_name(name): torch.from_numpy(value.copy()) for name, value in initializers.items()
             if name.startswith('encoder.')}
    derived = []
    for node in graph.node:
        if node.op_type != 'MatMul' or node.input[1] not in initializers or node.input[1].startswith('encoder.'):
            continue
        biases = [name for consumer in consumers.get(node.output[0], []) if consumer.op_type == 'Add'
                  for name in consumer.input if name.endswith('.bias') and name in initializers]
        if len(biases) == 1:
            weight = encoder_name(biases[0])[:-len('.bias')] + '.weight'
            state[weight] = torch.from_numpy(initializers[node.input[1]].T.copy())
        else:
            derived.append(node.input[1])
    with open(os.path.join(model_dir, 'config.json')) as handle:
        config = json.load(handle)
    # The other MatMul operands are the output projection regrouped per head for the value norms:
    # check that they are exactly that, so that nothing of the graph is left unexplained.
    heads, hidden = config['num_attention_heads'], config['hidden_size']
    for layer, name in enumerate(derived):
        dense = state[f'encoder.layer.{layer}.attention.output.dense.weight']
        regrouped = dense.view(hidden, heads, hidden // heads).permute(1, 2, 0).numpy()
        if not (initializers[name] == regrouped).all():
            sys.exit(f'{name}: not layer {layer}\'s output projection per head; cannot rebuild this graph.')
    expected = 5 + config['num_hidden_layers'] * 16
    if len(state) != expected:
        sys.exit(f'found {len(state)} parameters, expected {expected}: {sorted(state)[:5]} …')
    return state, len(derived)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model_dir, out = sys.argv[1], sys.argv[2]
    state, checked = encoder_state(model_dir)
    os.makedirs(out, exist_ok=True)
    torch.save(state, os.path.join(out, 'pytorch_model.bin'))
    shutil.copy(os.path.join(model_dir, 'config.json'), os.path.join(out, 'config.json'))
    for name in TOKENIZER_FILES:
        if os.path.exists(os.path.join(model_dir, name)):
            shutil.copy(os.path.join(model_dir, name), os.path.join(out, name))
    with open(os.path.join(model_dir, 'manifest.json')) as handle:
        training = json.load(handle).get('training') or {}
    if training:
        with open(os.path.join(out, 'training.json'), 'w') as handle:
            json.dump(training, handle, indent=2)
    print(f'{out}: {len(state)} parameters from {model_dir}/model.onnx ({checked} per-head projections checked)')


if __name__ == '__main__':
    main()
