#!/usr/bin/python3
"""Writes a randomly initialised Hugging Face checkpoint folder for a published model's config.json.

Usage: make_random_checkpoint.py CONFIG OUT [--dtype f32|f16|bf16] [--tiny] [--seed 0] [--shards N]
                                 [--bin] [--summary]

CONFIG is a config.json path or a name in models/tools/hf_configs/ (tiny_starcoder_py,
codeparrot-small, Qwen2.5-Coder-0.5B, deepseek-coder-1.3b-base, codebert-base, unixcoder-base).
OUT receives config.json (the published one unchanged, or its --tiny sizes) and model.safetensors (or N
shards and model.safetensors.index.json), with Hugging Face's parameter names for the architecture
(gpt2, gpt_bigcode, llama, qwen2, roberta).
`--tiny` keeps the architecture and every feature of the config (multi-query or grouped-query ratio,
biases, tied or untied embeddings, rope_theta and rope scaling, scaled attention, type vocabulary,
1,026 positions) with small sizes, and copies the bundled tokenizer (models/code-attention-mini, 8,192
subwords; special ids <s> 0, <pad> 1, </s> 2): the published tokenizers are not available here.
`--bin` also writes pytorch_model.bin (what models/export_onnx.py reads). `--summary` prints the
tensor count, parameters and bytes, and writes nothing.

Weights are N(0, 1/fan_in) for projections (so attention logits have a spread of about 1 and the
softmax is far from uniform, which a parity check needs; the published initializer_range 0.02 would give
near-uniform attention), N(0, 1) for token embeddings, N(0, 0.25) for learned positions, norm scales
1 + N(0, 0.01), biases N(0, 0.04). Each tensor is drawn from a generator seeded by the seed and its
name, so a tensor does not change with the dtype, the shard count or the order of writing.
"""
import argparse
import copy
import json
import os
import shutil
import sys
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from safetensors_io import CLI_DTYPES, ITEM_BYTES, write_streaming  # noqa: E402

CONFIGS = os.path.join(HERE, 'hf_configs')
BUNDLED_TOKENIZER = os.path.join(HERE, '..', 'code-attention-mini')
TINY_VOCAB = 8192
TINY_SPECIAL = {'bos_token_id': 0, 'pad_token_id': 1, 'eos_token_id': 2}


def tiny_config(config):
    """Small sizes, same model_type and features."""
    tiny = copy.deepcopy(config)
    model_type = config['model_type']
    tiny['vocab_size'] = TINY_VOCAB
    for key in ('bos_token_id', 'eos_token_id'):
        if key in tiny:
            tiny[key] = TINY_SPECIAL[key]
    if 'pad_token_id' in tiny and tiny['pad_token_id'] is not None:
        tiny['pad_token_id'] = TINY_SPECIAL['pad_token_id']
    if model_type in ('gpt2', 'gpt_bigcode'):
        tiny.update(n_embd=32, n_head=4, n_layer=2, n_positions=256)
        if 'n_ctx' in tiny:
            tiny['n_ctx'] = 256
        if tiny.get('n_inner') is not None:
            tiny['n_inner'] = 64
    elif model_type in ('llama', 'qwen2'):
        heads = config['num_attention_heads']
        kv_heads = config.get('num_key_value_heads') or heads
        if kv_heads == heads:
            tiny_heads, tiny_kv = 4, 4
        else:
            tiny_kv = 2 if kv_heads >= 2 else 1
            tiny_heads = tiny_kv * (heads // kv_heads)
        # Qwen2's 14 query heads with head_dim 8 would make the CI fixture's embedding alone 1.8 MB in bf16.
        head_dim = 8 if tiny_heads <= 8 else 4
        tiny.update(hidden_size=tiny_heads * head_dim, num_attention_heads=tiny_heads, num_key_value_heads=tiny_kv,
                    num_hidden_layers=2, intermediate_size=3 * tiny_heads * head_dim, max_position_embeddings=256)
        if 'head_dim' in tiny:
            tiny['head_dim'] = head_dim
        if 'max_window_layers' in tiny:
            tiny['max_window_layers'] = 2
        if 'sliding_window' in tiny and tiny['sliding_window']:
            tiny['sliding_window'] = 256
    elif model_type == 'roberta':
        tiny.update(hidden_size=32, num_attention_heads=4, num_hidden_layers=2, intermediate_size=64)
    else:
        raise SystemExit(f'model_type {model_type!r}: no tiny variant (supported: gpt2, gpt_bigcode, llama, qwen2, '
                         f'roberta)')
    return tiny


def tensor_specs(config):
    """[(name, shape, kind, fan_in)] in Hugging Face's names; kind picks the initialisation."""
    model_type = config['model_type']
    if model_type in ('gpt2', 'gpt_bigcode'):
        return gpt2_specs(config, linear_layout=model_type == 'gpt_bigcode')
    if model_type in ('llama', 'qwen2'):
        return llama_specs(config)
    if model_type == 'roberta':
        return roberta_specs(config)
    raise SystemExit(f'model_type {model_type!r} is not supported (gpt2, gpt_bigcode, llama, qwen2, roberta)')


def gpt2_specs(config, linear_layout):
    hidden, heads = config['n_embd'], config['n_head']
    head_dim = hidden // heads
    inner = config.get('n_inner') or 4 * hidden
    kv = head_dim if linear_layout and config.get('multi_query', True) else hidden
    specs = [('transformer.wte.weight', (config['vocab_size'], hidden), 'embedding', None),
             ('transformer.wpe.weight', (config['n_positions'], hidden), 'position', None)]

    def linear(name, fan_in, fan_out):
        shape = (fan_out, fan_in) if linear_layout else (fan_in, fan_out)
        return [(name + '.weight', shape, 'weight', fan_in), (name + '.bias', (fan_out,), 'bias', None)]

    for layer in range(config['n_layer']):
        p = f'transformer.h.{layer}'
        specs += norm(p + '.ln_1', hidden) + linear(p + '.attn.c_attn', hidden, hidden + 2 * kv)
        specs += linear(p + '.attn.c_proj', hidden, hidden) + norm(p + '.ln_2', hidden)
        specs += linear(p + '.mlp.c_fc', hidden, inner) + linear(p + '.mlp.c_proj', inner, hidden)
    specs += norm('transformer.ln_f', hidden)
    if config.get('tie_word_embeddings', True) is False:
        specs.append(('lm_head.weight', (config['vocab_size'], hidden), 'weight', hidden))
    return specs


def norm(prefix, size, bias=True):
    scale = [(prefix + '.weight', (size,), 'scale', None)]
    return scale + ([(prefix + '.bias', (size,), 'bias', None)] if bias else [])


def llama_specs(config):
    hidden, heads = config['hidden_size'], config['num_attention_heads']
    kv_heads = config.get('num_key_value_heads') or heads
    head_dim = config.get('head_dim') or hidden // heads
    inner = config['intermediate_size']
    qwen2 = config['model_type'] == 'qwen2'
    qkv_bias = qwen2 or bool(config.get('attention_bias'))
    output_bias = not qwen2 and bool(config.get('attention_bias'))
    mlp_bias = not qwen2 and bool(config.get('mlp_bias'))

    def linear(name, fan_in, fan_out, bias):
        return [(name + '.weight', (fan_out, fan_in), 'weight', fan_in)] + ([(name + '.bias', (fan_out,), 'bias', None)]
                                                                           if bias else [])

    specs = [('model.embed_tokens.weight', (config['vocab_size'], hidden), 'embedding', None)]
    for layer in range(config['num_hidden_layers']):
        p = f'model.layers.{layer}'
        specs += norm(p + '.input_layernorm', hidden, bias=False)
        specs += linear(p + '.self_attn.q_proj', hidden, heads * head_dim, qkv_bias)
        specs += linear(p + '.self_attn.k_proj', hidden, kv_heads * head_dim, qkv_bias)
        specs += linear(p + '.self_attn.v_proj', hidden, kv_heads * head_dim, qkv_bias)
        specs += linear(p + '.self_attn.o_proj', heads * head_dim, hidden, output_bias)
        specs += norm(p + '.post_attention_layernorm', hidden, bias=False)
        specs += linear(p + '.mlp.gate_proj', hidden, inner, mlp_bias)
        specs += linear(p + '.mlp.up_proj', hidden, inner, mlp_bias)
        specs += linear(p + '.mlp.down_proj', inner, hidden, mlp_bias)
    specs += norm('model.norm', hidden, bias=False)
    if not config.get('tie_word_embeddings', False):
        specs.append(('lm_head.weight', (config['vocab_size'], hidden), 'weight', hidden))
    return specs


def roberta_specs(config):
    """RobertaModel's names as codebert-base and unixcoder-base publish them (no `roberta.` prefix, with the pooler)."""
    hidden, inner = config['hidden_size'], config['intermediate_size']

    def linear(name, fan_in, fan_out):
        return [(name + '.weight', (fan_out, fan_in), 'weight', fan_in), (name + '.bias', (fan_out,), 'bias', None)]

    specs = [('embeddings.word_embeddings.weight', (config['vocab_size'], hidden), 'embedding', None),
             ('embeddings.position_embeddings.weight', (config['max_position_embeddings'], hidden), 'position', None),
             ('embeddings.token_type_embeddings.weight', (config.get('type_vocab_size', 1), hidden), 'position', None)]
    specs += norm('embeddings.LayerNorm', hidden)
    for layer in range(config['num_hidden_layers']):
        p = f'encoder.layer.{layer}'
        for part in ('query', 'key', 'value'):
            specs += linear(f'{p}.attention.self.{part}', hidden, hidden)
        specs += linear(p + '.attention.output.dense', hidden, hidden) + norm(p + '.attention.output.LayerNorm', hidden)
        specs += linear(p + '.intermediate.dense', hidden, inner) + linear(p + '.output.dense', inner, hidden)
        specs += norm(p + '.output.LayerNorm', hidden)
    specs += linear('pooler.dense', hidden, hidden)
    return specs


def make_tensor(spec, seed):
    name, shape, kind, fan_in = spec
    generator = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode('utf-8')))
    values = torch.randn(shape, generator=generator, dtype=torch.float32)
    if kind == 'weight':
        return values / fan_in ** 0.5
    if kind == 'position':
        return values * 0.5
    if kind == 'scale':
        return 1.0 + values * 0.1
    if kind == 'bias':
        return values * 0.2
    return values


def split_shards(specs, count, item_bytes):
    sizes = [item_bytes * prod(shape) for _, shape, _, _ in specs]
    target = sum(sizes) / count
    shards, current, filled = [[] for _ in range(count)], 0, 0.0
    for spec, size in zip(specs, sizes):
        if filled >= target * (current + 1) and current < count - 1:
            current += 1
        shards[current].append(spec)
        filled += size
    return [shard for shard in shards if shard]


def prod(shape):
    total = 1
    for dim in shape:
        total *= dim
    return total


def load_config(argument):
    path = argument if os.path.exists(argument) else os.path.join(CONFIGS, argument + '.json')
    if not os.path.exists(path):
        names = ', '.join(sorted(name[:-5] for name in os.listdir(CONFIGS)))
        raise SystemExit(f'{argument}: no such config file, and not one of {names}')
    with open(path) as handle:
        return json.load(handle)


def copy_tokenizer(config, out):
    """The bundled tokenizer, with a decoder's post-processing: none for GPT-2 and Qwen2, <s> first for Llama."""
    with open(os.path.join(BUNDLED_TOKENIZER, 'tokenizer.json')) as handle:
        tokenizer = json.load(handle)
    model_type = config['model_type']
    if model_type in ('gpt2', 'gpt_bigcode', 'qwen2'):
        tokenizer['post_processor'] = {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True,
                                       'use_regex': True}
    elif model_type == 'llama':
        bos = {'SpecialToken': {'id': '<s>', 'type_id': 0}}
        tokenizer['post_processor'] = {
            'type': 'TemplateProcessing',
            'single': [bos, {'Sequence': {'id': 'A', 'type_id': 0}}],
            'pair': [bos, {'Sequence': {'id': 'A', 'type_id': 0}}, bos, {'Sequence': {'id': 'B', 'type_id': 1}}],
            'special_tokens': {'<s>': {'id': '<s>', 'ids': [0], 'tokens': ['<s>']}},
        }
    with open(os.path.join(out, 'tokenizer.json'), 'w') as handle:
        json.dump(tokenizer, handle, ensure_ascii=False)
    if model_type == 'roberta':
        for name in ('vocab.json', 'merges.txt', 'tokenizer_config.json'):
            shutil.copy(os.path.join(BUNDLED_TOKENIZER, name), os.path.join(out, name))


def write_checkpoint(config, out, dtype_name, seed, shards=1, with_bin=False, tokenizer=False):
    specs = tensor_specs(config)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'config.json'), 'w') as handle:
        json.dump(config, handle, indent=2)
    by_name = {spec[0]: spec for spec in specs}
    groups = split_shards(specs, shards, ITEM_BYTES[dtype_name]) if shards > 1 else [specs]
    metadata = {'format': 'pt'}
    weight_map = {}
    for index, group in enumerate(groups):
        file_name = ('model.safetensors' if len(groups) == 1
                     else f'model-{index + 1:05d}-of-{len(groups):05d}.safetensors')
        entries = [(name, dtype_name, shape) for name, shape, _, _ in group]
        write_streaming(os.path.join(out, file_name), entries, lambda name: make_tensor(by_name[name], seed), metadata)
        weight_map.update({name: file_name for name, _, _, _ in group})
    if len(groups) > 1:
        total = sum(ITEM_BYTES[dtype_name] * prod(shape) for _, shape, _, _ in specs)
        with open(os.path.join(out, 'model.safetensors.index.json'), 'w') as handle:
            json.dump({'metadata': {'total_size': total}, 'weight_map': weight_map}, handle, indent=2)
    if with_bin:
        from safetensors_io import DTYPES
        state = {spec[0]: make_tensor(spec, seed).to(DTYPES[dtype_name]) for spec in specs}
        torch.save(state, os.path.join(out, 'pytorch_model.bin'))
    if tokenizer:
        copy_tokenizer(config, out)
    return specs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('out', nargs='?')
    parser.add_argument('--dtype', default='f32', choices=sorted(CLI_DTYPES))
    parser.add_argument('--tiny', action='store_true')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--shards', type=int, default=1)
    parser.add_argument('--bin', action='store_true', help='also write pytorch_model.bin')
    parser.add_argument('--summary', action='store_true', help='print the tensors\' size and write nothing')
    args = parser.parse_args()
    config = load_config(args.config)
    if args.tiny:
        config = tiny_config(config)
    specs = tensor_specs(config)
    dtype_name = CLI_DTYPES[args.dtype]
    parameters = sum(prod(shape) for _, shape, _, _ in specs)
    summary = f'{config["model_type"]}: {len(specs)} tensors, {parameters:,} parameters, ' \
              f'{parameters * ITEM_BYTES[dtype_name] / 2 ** 20:,.1f} MiB as {args.dtype}'
    if args.summary:
        print(summary)
        return
    if not args.out:
        raise SystemExit('give OUT (or --summary)')
    write_checkpoint(config, args.out, dtype_name, args.seed, args.shards, args.bin, tokenizer=args.tiny)
    print(f'{args.out}: {summary}' + ('' if args.tiny else ' (no tokenizer: copy the model\'s own tokenizer.json)'))


if __name__ == '__main__':
    main()
