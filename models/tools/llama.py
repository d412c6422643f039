"""Llama decoder (LlamaForCausalLM) in plain PyTorch with Hugging Face's parameter names, for training.

`model.embed_tokens`, `model.layers.N.self_attn.{q,k,v,o}_proj`, `model.layers.N.mlp.{gate,up,down}_proj`,
`model.layers.N.{input,post_attention}_layernorm`, `model.norm`, `lm_head` (tied to the embeddings when
`tie_word_embeddings`). RMSNorm, rotary positions in Hugging Face's half-rotation layout (dimension i pairs
with i + head_dim/2), SwiGLU, grouped-query attention (query head h reads key/value head h // group). No
biases (Llama's default). Positions are 0..n-1 in every row; right padding is masked by `attention_mask`.
The independent reference this is checked against is reference_decoders.py's llama_family.
"""
import math

import torch
from torch import nn

DEFAULT_DECODER_CONFIG = {
    'architectures': ['LlamaForCausalLM'],
    'model_type': 'llama',
    'vocab_size': 8192,
    'hidden_size': 256,
    'intermediate_size': 688,
    'num_hidden_layers': 4,
    'num_attention_heads': 4,
    'num_key_value_heads': 2,
    'hidden_act': 'silu',
    'max_position_embeddings': 512,
    'rms_norm_eps': 1e-5,
    'rope_theta': 10000.0,
    'rope_scaling': None,
    'attention_bias': False,
    'mlp_bias': False,
    'tie_word_embeddings': True,
    'initializer_range': 0.02,
    'bos_token_id': 0,
    'eos_token_id': 2,
    'pad_token_id': 1,
    'torch_dtype': 'float32',
}


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    first, second = x.chunk(2, dim=-1)
    return torch.cat([-second, first], dim=-1)


class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.heads, self.kv_heads = config['num_attention_heads'], config['num_key_value_heads']
        self.head_dim = config['hidden_size'] // self.heads
        hidden = config['hidden_size']
        self.q_proj = nn.Linear(hidden, self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(hidden, self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, hidden, bias=False)

    def forward(self, x, cos, sin, additive_mask, keep_probabilities):
        batch, n, _ = x.shape
        query = self.q_proj(x).view(batch, n, self.heads, self.head_dim).transpose(1, 2)
        key = self.k_proj(x).view(batch, n, self.kv_heads, self.head_dim).transpose(1, 2)
        value = self.v_proj(x).view(batch, n, self.kv_heads, self.head_dim).transpose(1, 2)
        query, key = query * cos + rotate_half(query) * sin, key * cos + rotate_half(key) * sin
        group = self.heads // self.kv_heads
        key, value = key.repeat_interleave(group, dim=1), value.repeat_interleave(group, dim=1)
        scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(self.head_dim) + additive_mask
        probabilities = torch.softmax(scores, dim=-1)
        attended = torch.matmul(probabilities, value).transpose(1, 2).reshape(batch, n, self.heads * self.head_dim)
        return self.o_proj(attended), (probabilities if keep_probabilities else None)


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        hidden, eps = config['hidden_size'], config['rms_norm_eps']
        self.input_layernorm = RMSNorm(hidden, eps)
        self.self_attn = Attention(config)
        self.post_attention_layernorm = RMSNorm(hidden, eps)
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(hidden, config['intermediate_size'], bias=False)
        self.mlp.up_proj = nn.Linear(hidden, config['intermediate_size'], bias=False)
        self.mlp.down_proj = nn.Linear(config['intermediate_size'], hidden, bias=False)

    def forward(self, x, cos, sin, additive_mask, keep_probabilities):
        attended, probabilities = self.self_attn(self.input_layernorm(x), cos, sin, additive_mask, keep_probabilities)
        x = x + attended
        h = self.post_attention_layernorm(x)
        return x + self.mlp.down_proj(nn.functional.silu(self.mlp.gate_proj(h)) * self.mlp.up_proj(h)), probabilities


class LlamaModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config['vocab_size'], config['hidden_size'])
        self.layers = nn.ModuleList(Block(config) for _ in range(config['num_hidden_layers']))
        self.norm = RMSNorm(config['hidden_size'], config['rms_norm_eps'])
        head_dim = config['hidden_size'] // config['num_attention_heads']
        inverse = 1.0 / (config['rope_theta'] ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
        self.register_buffer('inverse_frequencies', inverse, persistent=False)

    def forward(self, input_ids, attention_mask=None, keep_probabilities=False):
        batch, n = input_ids.shape
        angles = torch.outer(torch.arange(n, dtype=torch.float64, device=input_ids.device), self.inverse_frequencies)
        angles = torch.cat([angles, angles], dim=-1)
        cos, sin = angles.cos().float(), angles.sin().float()
        allowed = torch.ones(n, n, dtype=torch.bool, device=input_ids.device).tril()[None, None]
        if attention_mask is not None:
            allowed = allowed & attention_mask.bool()[:, None, None, :]
        # A large finite negative (not -inf) keeps fully padded rows finite; their outputs are never used.
        additive_mask = torch.zeros(allowed.shape, device=input_ids.device).masked_fill(~allowed, -1e9)
        x = self.embed_tokens(input_ids)
        attentions = []
        for layer in self.layers:
            x, probabilities = layer(x, cos, sin, additive_mask, keep_probabilities)
            attentions.append(probabilities)
        return self.norm(x), attentions


class LlamaForCausalLM(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.model = LlamaModel(config)
        self.lm_head = nn.Linear(config['hidden_size'], config['vocab_size'], bias=False)
        if config['tie_word_embeddings']:
            self.lm_head.weight = self.model.embed_tokens.weight
        std = config['initializer_range']
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=std)

    def forward(self, input_ids, attention_mask=None):
        hidden, _ = self.model(input_ids, attention_mask)
        return self.lm_head(hidden)

    def hf_state_dict(self):
        """The tensors a Hugging Face folder holds: lm_head.weight only when it is not tied."""
        state = {name: value.detach().cpu().contiguous() for name, value in self.state_dict().items()}
        if self.model.config['tie_word_embeddings']:
            state.pop('lm_head.weight', None)
        return state
