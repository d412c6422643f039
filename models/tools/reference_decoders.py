#!/usr/bin/python3
"""Independent plain-PyTorch reference decoders, written from each architecture's definition.

Usage: reference_decoders.py FOLDER (--ids 5,6,7 | --text 'def f(x):') [--out OUT.safetensors] [--float32]

FOLDER is a Hugging Face model folder (config.json and model.safetensors, or shards with
model.safetensors.index.json). The parameter names are Hugging Face's, so a published checkpoint and
the random ones of make_random_checkpoint.py load unchanged. Supported `model_type`s:

- gpt2: learned positions (wpe), pre-LayerNorm blocks, GELU (gelu_new / gelu_pytorch_tanh / gelu),
  Conv1D weights stored [in, out] (y = x W + b), `c_attn` = [query | key | value] columns,
  optional `scale_attn_by_inverse_layer_idx` (scores / (layer + 1), as CodeParrot sets it).
- gpt_bigcode: GPT-2's block with nn.Linear weights stored [out, in]; `multi_query` = one key/value
  head shared by all query heads, `c_attn` = [query (hidden) | key (head_dim) | value (head_dim)];
  without multi_query, `c_attn`'s output is per head [query | key | value] (head-interleaved).
- llama and qwen2: RMSNorm, rotary positions with `rope_theta` in Hugging Face's half-rotation layout
  (dimension i pairs with i + head_dim/2; `linear` rope scaling divides positions by its factor),
  SwiGLU MLP (down(silu(gate(x)) * up(x))), grouped-query attention (query head h reads key/value
  head h // (heads / kv_heads)); qwen2 has q/k/v biases, llama has them when `attention_bias`.

Every run is one unpadded sequence, batch 1, in float64 unless --float32. Returned per layer:
`attentions` [layers, heads, n, n] after the causal mask and softmax; `hidden_states`
[layers + 1, n, hidden] as Hugging Face's output_hidden_states (the embeddings, each block's output,
the last one after the final norm; `last_hidden_state` = hidden_states[-1]); `value_norms`
[layers, heads, n] = ‖v_j^h W_O^h‖ with v_j^h the value vector head h reads (bias included) and W_O^h
the output projection's slice for head h, without its bias, as models/export_onnx.py defines them for
the encoder (Kobayashi et al. 2020). With `keep_contributions`, also `contributions`: per layer the
f_h(x_j) vectors [heads, n, hidden], so that a test can check Σ_h Σ_j α_ij^h f_h(x_j) + b_O against
the attention output.
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_checkpoint, write_safetensors  # noqa: E402

SUPPORTED_MODEL_TYPES = ('gpt2', 'gpt_bigcode', 'llama', 'qwen2')
GELU_ACTIVATIONS = ('gelu_new', 'gelu_pytorch_tanh', 'gelu')


class ConfigError(ValueError):
    """A config or checkpoint this reference does not implement, said in one line."""


def require(config, keys, architecture):
    missing = [key for key in keys if key not in config]
    if missing:
        raise ConfigError(f'{architecture} config lacks {", ".join(missing)} (model_type {config.get("model_type")!r})')


def expect_model_type(config, accepted, architecture):
    model_type = config.get('model_type')
    if model_type not in accepted:
        raise ConfigError(
            f'model_type {model_type!r} is not a {architecture} config ({", ".join(accepted)}); '
            f'supported: {", ".join(SUPPORTED_MODEL_TYPES)}')


def gelu(x, kind):
    if kind == 'gelu':
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdim=True)
    variance = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(variance + eps) * weight + bias


def rms_norm(x, weight, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * weight


def causal_softmax(scores):
    """scores [heads, n, n]: positions j > i get probability 0 exactly."""
    n = scores.shape[-1]
    future = torch.ones(n, n, dtype=torch.bool).triu(1)
    return torch.softmax(scores.masked_fill(future, float('-inf')), dim=-1)


class Weights:
    """A checkpoint's tensors by Hugging Face name, with the model prefix taken off; strict about leftovers."""

    def __init__(self, tensors, prefix, dtype, ignored=()):
        self.dtype = dtype
        self.tensors = {}
        for name, tensor in tensors.items():
            short = name[len(prefix):] if name.startswith(prefix) else name
            self.tensors[short] = tensor
        self.used = set(ignored) & set(self.tensors)

    def __call__(self, name, shape):
        if name not in self.tensors:
            raise ConfigError(f'checkpoint lacks {name} (shape {list(shape)})')
        tensor = self.tensors[name]
        if tuple(tensor.shape) != tuple(shape):
            raise ConfigError(f'{name} has shape {list(tensor.shape)}, the config implies {list(shape)}')
        self.used.add(name)
        return tensor.to(self.dtype)

    def has(self, name):
        return name in self.tensors

    def check_all_used(self):
        left = sorted(set(self.tensors) - self.used)
        if left:
            raise ConfigError(f'checkpoint has tensors this architecture does not use: {", ".join(left[:6])}')


def attention_probabilities(query, key, scale):
    """query [heads, n, d], key [heads, n, d] (already repeated per query head)."""
    return causal_softmax(torch.matmul(query, key.transpose(-1, -2)) * scale)


def head_values_through_output(value, output_slices):
    """value [heads, n, d]; output_slices [heads, d, hidden] → f_h(x_j) [heads, n, hidden]."""
    return torch.matmul(value, output_slices)


class Outputs:
    def __init__(self, keep_contributions):
        self.attentions, self.hidden_states, self.value_norms, self.contributions = [], [], [], []
        self.keep_contributions = keep_contributions

    def add_layer(self, probabilities, transformed):
        self.attentions.append(probabilities)
        self.value_norms.append(torch.sqrt((transformed * transformed).sum(-1)))
        if self.keep_contributions:
            self.contributions.append(transformed)

    def finish(self):
        result = {
            'attentions': torch.stack(self.attentions),
            'hidden_states': torch.stack(self.hidden_states),
            'value_norms': torch.stack(self.value_norms),
        }
        result['last_hidden_state'] = result['hidden_states'][-1]
        if self.keep_contributions:
            result['contributions'] = self.contributions
        return result


def gpt2_family(config, tensors, input_ids, dtype=torch.float64, keep_contributions=False, attention_outputs=None):
    """GPT-2 (Conv1D layout) and GPT-BigCode (Linear layout, optional multi-query attention)."""
    expect_model_type(config, ('gpt2', 'gpt_bigcode'), 'GPT-2 family')
    require(config, ('n_embd', 'n_head', 'n_layer', 'n_positions', 'vocab_size'), 'GPT-2 family')
    bigcode = config['model_type'] == 'gpt_bigcode'
    if config.get('add_cross_attention'):
        raise ConfigError('add_cross_attention (an encoder-decoder GPT-2) is not a decoder-only model')
    activation = config.get('activation_function', 'gelu_new')
    if activation not in GELU_ACTIVATIONS:
        raise ConfigError(f'activation_function {activation!r} is not one of {", ".join(GELU_ACTIVATIONS)}')
    hidden, heads, layers = config['n_embd'], config['n_head'], config['n_layer']
    if hidden % heads:
        raise ConfigError(f'n_embd {hidden} is not a multiple of n_head {heads}')
    head_dim = hidden // heads
    inner = config.get('n_inner') or 4 * hidden
    eps = config.get('layer_norm_epsilon', 1e-5)
    multi_query = bigcode and config.get('multi_query', True)
    kv_heads = 1 if multi_query else heads
    scale = 1.0 / math.sqrt(head_dim) if config.get('scale_attn_weights', True) else 1.0
    by_layer = (not bigcode) and config.get('scale_attn_by_inverse_layer_idx', False)
    n = len(input_ids)
    if n > config['n_positions']:
        raise ConfigError(f'{n} tokens exceed n_positions {config["n_positions"]}')
    ignored = [f'h.{i}.attn.{buffer}' for i in range(layers) for buffer in ('bias', 'masked_bias')]
    weights = Weights(tensors, 'transformer.', dtype, ignored + ['lm_head.weight'])

    def linear(prefix, fan_in, fan_out):
        # Conv1D keeps [in, out]; nn.Linear keeps [out, in].
        if bigcode:
            return weights(prefix + '.weight', (fan_out, fan_in)).T, weights(prefix + '.bias', (fan_out,))
        return weights(prefix + '.weight', (fan_in, fan_out)), weights(prefix + '.bias', (fan_out,))

    ids = torch.tensor(input_ids, dtype=torch.long)
    positions = weights('wpe.weight', (config['n_positions'], hidden))[:n]
    x = weights('wte.weight', (config['vocab_size'], hidden))[ids] + positions
    outputs = Outputs(keep_contributions)
    for layer in range(layers):
        outputs.hidden_states.append(x)
        p = f'h.{layer}'
        h = layer_norm(x, weights(p + '.ln_1.weight', (hidden,)), weights(p + '.ln_1.bias', (hidden,)), eps)
        attn_w, attn_b = linear(p + '.attn.c_attn', hidden, hidden + 2 * kv_heads * head_dim)
        qkv = h @ attn_w + attn_b
        if bigcode and not multi_query:
            per_head = qkv.view(n, heads, 3 * head_dim).transpose(0, 1)
            query, key, value = per_head.split(head_dim, dim=-1)
        else:
            query_flat, key_flat, value_flat = qkv.split((hidden, kv_heads * head_dim, kv_heads * head_dim), dim=-1)
            query = query_flat.view(n, heads, head_dim).transpose(0, 1)
            key = key_flat.view(n, kv_heads, head_dim).transpose(0, 1).expand(heads, n, head_dim)
            value = value_flat.view(n, kv_heads, head_dim).transpose(0, 1).expand(heads, n, head_dim)
        probabilities = attention_probabilities(query, key, scale / (layer + 1 if by_layer else 1))
        proj_w, proj_b = linear(p + '.attn.c_proj', hidden, hidden)
        transformed = head_values_through_output(value, proj_w.view(heads, head_dim, hidden))
        outputs.add_layer(probabilities, transformed)
        context = torch.matmul(probabilities, value).transpose(0, 1).reshape(n, hidden)
        attended = context @ proj_w + proj_b
        if attention_outputs is not None:
            attention_outputs.append(attended)
        x = x + attended
        h = layer_norm(x, weights(p + '.ln_2.weight', (hidden,)), weights(p + '.ln_2.bias', (hidden,)), eps)
        fc_w, fc_b = linear(p + '.mlp.c_fc', hidden, inner)
        out_w, out_b = linear(p + '.mlp.c_proj', inner, hidden)
        x = x + gelu(h @ fc_w + fc_b, activation) @ out_w + out_b
    outputs.hidden_states.append(layer_norm(x, weights('ln_f.weight', (hidden,)), weights('ln_f.bias', (hidden,)), eps))
    check_lm_head(weights, config, hidden, tied_default=True)
    weights.check_all_used()
    return outputs.finish()


def check_lm_head(weights, config, hidden, tied_default):
    tied = config.get('tie_word_embeddings', tied_default)
    if weights.has('lm_head.weight'):
        weights('lm_head.weight', (config['vocab_size'], hidden))
    elif not tied:
        raise ConfigError('tie_word_embeddings is false but the checkpoint has no lm_head.weight')


def rotary_tables(config, head_dim, positions, dtype):
    theta = config.get('rope_theta', 10000.0)
    if not isinstance(theta, (int, float)) or isinstance(theta, bool) or theta <= 0:
        raise ConfigError(f'rope_theta {theta!r} is not a positive number: rotary positions cannot be turned off')
    scaling = config.get('rope_scaling')
    factor = 1.0
    if scaling is not None:
        kind = scaling.get('rope_type', scaling.get('type'))
        if kind not in ('linear', 'default'):
            raise ConfigError(f'rope_scaling type {kind!r} is not implemented (linear only)')
        factor = float(scaling.get('factor', 1.0)) if kind == 'linear' else 1.0
    if head_dim % 2:
        raise ConfigError(f'head_dim {head_dim} is odd: rotary positions need pairs')
    inverse_frequencies = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    angles = torch.outer(positions.to(torch.float64) / factor, inverse_frequencies)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def rotate_half(x):
    first, second = x.chunk(2, dim=-1)
    return torch.cat([-second, first], dim=-1)


def apply_rotary(x, cos, sin):
    """x [heads, n, d]; Hugging Face's layout: dimension i is rotated together with i + d/2."""
    return x * cos + rotate_half(x) * sin


def llama_family(config, tensors, input_ids, dtype=torch.float64, keep_contributions=False, position_offset=0,
                 attention_outputs=None):
    """Llama and Qwen2: RMSNorm, rotary positions, SwiGLU, grouped-query attention."""
    expect_model_type(config, ('llama', 'qwen2'), 'Llama family')
    require(config, ('hidden_size', 'num_attention_heads', 'num_hidden_layers', 'intermediate_size', 'vocab_size',
                     'rms_norm_eps'), 'Llama family')
    qwen2 = config['model_type'] == 'qwen2'
    if config.get('hidden_act', 'silu') != 'silu':
        raise ConfigError(f'hidden_act {config.get("hidden_act")!r} is not silu (SwiGLU)')
    if qwen2 and config.get('use_sliding_window', False):
        raise ConfigError('use_sliding_window is true: sliding-window attention is not implemented')
    hidden, heads, layers = config['hidden_size'], config['num_attention_heads'], config['num_hidden_layers']
    kv_heads = config.get('num_key_value_heads') or heads
    if heads % kv_heads:
        raise ConfigError(f'num_attention_heads {heads} is not a multiple of num_key_value_heads {kv_heads}')
    head_dim = config.get('head_dim') or hidden // heads
    if not config.get('head_dim') and hidden % heads:
        raise ConfigError(f'hidden_size {hidden} is not a multiple of num_attention_heads {heads}')
    group = heads // kv_heads
    qkv_bias = True if qwen2 else bool(config.get('attention_bias', False))
    output_bias = False if qwen2 else bool(config.get('attention_bias', False))
    mlp_bias = bool(config.get('mlp_bias', False)) and not qwen2
    eps, inner, n = config['rms_norm_eps'], config['intermediate_size'], len(input_ids)
    weights = Weights(tensors, 'model.', dtype, ['lm_head.weight'])
    positions = torch.arange(position_offset, position_offset + n)
    cos, sin = rotary_tables(config, head_dim, positions, dtype)

    def linear(name, fan_in, fan_out, bias):
        weight = weights(name + '.weight', (fan_out, fan_in)).T
        return weight, (weights(name + '.bias', (fan_out,)) if bias else torch.zeros(fan_out, dtype=dtype))

    x = weights('embed_tokens.weight', (config['vocab_size'], hidden))[torch.tensor(input_ids, dtype=torch.long)]
    outputs = Outputs(keep_contributions)
    for layer in range(layers):
        outputs.hidden_states.append(x)
        p = f'layers.{layer}'
        h = rms_norm(x, weights(p + '.input_layernorm.weight', (hidden,)), eps)
        q_w, q_b = linear(p + '.self_attn.q_proj', hidden, heads * head_dim, qkv_bias)
        k_w, k_b = linear(p + '.self_attn.k_proj', hidden, kv_heads * head_dim, qkv_bias)
        v_w, v_b = linear(p + '.self_attn.v_proj', hidden, kv_heads * head_dim, qkv_bias)
        query = (h @ q_w + q_b).view(n, heads, head_dim).transpose(0, 1)
        key = (h @ k_w + k_b).view(n, kv_heads, head_dim).transpose(0, 1)
        value = (h @ v_w + v_b).view(n, kv_heads, head_dim).transpose(0, 1)
        query, key = apply_rotary(query, cos, sin), apply_rotary(key, cos, sin)
        key, value = key.repeat_interleave(group, dim=0), value.repeat_interleave(group, dim=0)
        probabilities = attention_probabilities(query, key, 1.0 / math.sqrt(head_dim))
        o_w, o_b = linear(p + '.self_attn.o_proj', heads * head_dim, hidden, output_bias)
        transformed = head_values_through_output(value, o_w.reshape(heads, head_dim, hidden))
        outputs.add_layer(probabilities, transformed)
        attended = torch.matmul(probabilities, value).transpose(0, 1).reshape(n, heads * head_dim) @ o_w + o_b
        if attention_outputs is not None:
            attention_outputs.append(attended)
        x = x + attended
        h = rms_norm(x, weights(p + '.post_attention_layernorm.weight', (hidden,)), eps)
        gate_w, gate_b = linear(p + '.mlp.gate_proj', hidden, inner, mlp_bias)
        up_w, up_b = linear(p + '.mlp.up_proj', hidden, inner, mlp_bias)
        down_w, down_b = linear(p + '.mlp.down_proj', inner, hidden, mlp_bias)
        x = x + (torch.nn.functional.silu(h @ gate_w + gate_b) * (h @ up_w + up_b)) @ down_w + down_b
    outputs.hidden_states.append(rms_norm(x, weights('norm.weight', (hidden,)), eps))
    check_lm_head(weights, config, hidden, tied_default=False)
    weights.check_all_used()
    return outputs.finish()


def run_reference(config, tensors, input_ids, dtype=torch.float64, keep_contributions=False):
    model_type = config.get('model_type')
    if model_type in ('gpt2', 'gpt_bigcode'):
        return gpt2_family(config, tensors, input_ids, dtype, keep_contributions)
    if model_type in ('llama', 'qwen2'):
        return llama_family(config, tensors, input_ids, dtype, keep_contributions)
    supported = ', '.join(SUPPORTED_MODEL_TYPES)
    raise ConfigError(f'model_type {model_type!r} has no reference decoder; supported: {supported}')


def run_folder(folder, input_ids, dtype=torch.float64):
    with open(os.path.join(folder, 'config.json')) as handle:
        config = json.load(handle)
    return run_reference(config, read_checkpoint(folder), input_ids, dtype)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('folder')
    parser.add_argument('--ids', help='comma-separated token ids')
    parser.add_argument('--text', help='text to encode with the folder\'s vocab.json + merges.txt (byte-level BPE)')
    parser.add_argument('--out', help='write the outputs (float32) to this .safetensors file')
    parser.add_argument('--float32', action='store_true', help='compute in float32 instead of float64')
    args = parser.parse_args()
    if bool(args.ids) == bool(args.text):
        sys.exit('give exactly one of --ids or --text')
    if args.ids:
        ids = [int(part) for part in args.ids.split(',')]
    else:
        from bpe import ByteLevelBPE
        ids = ByteLevelBPE.load(args.folder).encode(args.text)
    try:
        outputs = run_folder(args.folder, ids, torch.float32 if args.float32 else torch.float64)
    except ConfigError as error:
        sys.exit(f'{args.folder}: {error}')
    shapes = {name: list(value.shape) for name, value in outputs.items() if torch.is_tensor(value)}
    print(json.dumps({'ids': len(ids), 'shapes': shapes}))
    if args.out:
        write_safetensors(args.out, {name: value for name, value in outputs.items() if torch.is_tensor(value)}, 'F32')


if __name__ == '__main__':
    main()
