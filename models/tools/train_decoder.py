#!/usr/bin/python3
"""Causal-LM training of the bundled tiny Llama decoder, resumable, bounded by CPU time.

Usage: train_decoder.py CORPUS_DIR TOKENIZER_DIR RUN_DIR [--cpu-minutes 14] [--lr 2e-3] [--threads 1]
                        [--device cpu|cuda] [--export-only] [--check-reference]

The corpus, tokenizer, sampler, CPU-time budget, learning-rate schedule and resumable state are
train.py's (see its docstring); what differs is the objective and the data framing:

- Raw text: each training file is encoded as it is (newlines and indentation included), prefixed by
  <s> and followed by </s>, and the files are joined into one packed stream. A training row of
  length L is <s> + L - 1 consecutive subwords of that stream, so every window starts with <s>, as
  the extension's windows do (`addBos: true`), whether it begins at a file's start or inside it.
- Loss: next-subword cross-entropy at every position (the target of position i is subword i + 1).
- Model: tools/llama.py (LlamaForCausalLM with Hugging Face's names; 4 layers, hidden 256, 4 query
  heads on 2 key/value heads, SwiGLU 688, rope_theta 10000, tied embeddings).

A fresh run first checks that llama.py's forward pass equals reference_decoders.py's independent
Llama on the saved initial weights (attentions and hidden states within 1e-5), and the export
checks the final and early weights again, so that the converted ONNX graph can be compared with a
reference computed from the same Hugging Face folder.

Outputs: RUN_DIR/final and RUN_DIR/early (the snapshot nearest --early-fraction of the final's CPU
time) as Hugging Face folders (config.json, model.safetensors, tokenizer.json with the decoder's
post-processing, vocab.json, merges.txt, training.json with the held-out next-subword evaluation
against a unigram baseline), RUN_DIR/loss.csv and RUN_DIR/eval.json.
"""
import argparse
import json
import os
import random
import shutil
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import ByteLevelBPE  # noqa: E402
from llama import DEFAULT_DECODER_CONFIG, LlamaForCausalLM  # noqa: E402
from reference_decoders import llama_family  # noqa: E402
from safetensors_io import read_checkpoint, write_safetensors  # noqa: E402
from train import (BOS, EOS, Sampler, atomic_save, encode_corpus, learning_rate, parameter_groups,  # noqa: E402
                   restore_rng, rng_state)

# About 2,048 subwords a step; one step in eight at 512 so that long-range positions are trained too.
SHAPES = [(16, 128)] * 6 + [(8, 256), (4, 512)]
WARMUP = 0.05
WEIGHT_DECAY = 0.1
REFERENCE_TOLERANCE = 1e-5
REFERENCE_IDS_LENGTH = 48


def decoder_streams(streams):
    return [(language, [BOS] + ids) for language, ids in streams]


def heldout_windows(streams, length, limit):
    """<s> + up to length - 1 subwords per window, cut from each held-out file in turn."""
    windows = []
    for _language, ids in streams:
        for start in range(0, len(ids), length - 1):
            piece = ids[start:start + length - 1]
            if len(piece) >= 16:
                windows.append([BOS] + piece)
    return windows[:limit]


def inputs_and_targets(rows):
    """Sampler rows are <s> + L - 1 stream subwords + a closing </s> that is not text: never a target."""
    inputs, targets = rows[:, :-1], rows[:, 1:].clone()
    targets[:, -1] = -100
    return inputs, targets


@torch.no_grad()
def evaluate(model, windows, unigram_log_probs, most_frequent, device):
    model.eval()
    total_loss = total_correct = total_unigram = total_majority = count = 0.0
    for window in windows:
        ids = torch.tensor([window], dtype=torch.long)
        log_probs = torch.log_softmax(model(ids.to(device))[0, :-1].float(), dim=-1).cpu()
        target = ids[0, 1:]
        total_loss += -log_probs.gather(1, target[:, None]).sum().item()
        total_correct += (log_probs.argmax(-1) == target).sum().item()
        total_unigram += -unigram_log_probs[target].sum().item()
        total_majority += (target == most_frequent).sum().item()
        count += target.numel()
    model.train()
    return {'predicted_tokens': int(count), 'loss': total_loss / count, 'accuracy': total_correct / count,
            'unigram_loss': total_unigram / count, 'unigram_accuracy': total_majority / count}


def decoder_tokenizer_json(tokenizer_dir):
    """The bundled byte-level BPE with a decoder's post-processing: <s> before the text, no </s> after it."""
    with open(os.path.join(tokenizer_dir, 'tokenizer.json')) as handle:
        tokenizer = json.load(handle)
    tokenizer['post_processor'] = {
        'type': 'TemplateProcessing',
        'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
        'pair': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                 {'Sequence': {'id': 'B', 'type_id': 1}}],
        'special_tokens': {'<s>': {'id': '<s>', 'ids': [BOS], 'tokens': ['<s>']}},
    }
    return tokenizer


def save_hf_folder(model, config, tokenizer_dir, folder, summary):
    temporary = f'{folder}.tmp-{os.getpid()}'
    shutil.rmtree(temporary, ignore_errors=True)
    os.makedirs(temporary)
    with open(os.path.join(temporary, 'config.json'), 'w') as handle:
        json.dump(config, handle, indent=2)
    write_safetensors(os.path.join(temporary, 'model.safetensors'), model.hf_state_dict(), 'F32',
                      {'format': 'pt'})
    with open(os.path.join(temporary, 'tokenizer.json'), 'w') as handle:
        json.dump(decoder_tokenizer_json(tokenizer_dir), handle, ensure_ascii=False)
    for name in ('vocab.json', 'merges.txt'):
        shutil.copy(os.path.join(tokenizer_dir, name), os.path.join(temporary, name))
    with open(os.path.join(temporary, 'tokenizer_config.json'), 'w') as handle:
        json.dump({'tokenizer_class': 'PreTrainedTokenizerFast', 'bos_token': '<s>', 'eos_token': '</s>',
                   'unk_token': '<unk>', 'pad_token': '<pad>', 'add_bos_token': True, 'add_eos_token': False,
                   'model_max_length': config['max_position_embeddings']}, handle, indent=2)
    with open(os.path.join(temporary, 'training.json'), 'w') as handle:
        json.dump(summary, handle, indent=2)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.replace(temporary, folder)


def check_against_reference(model, folder, ids):
    """llama.py (float32) against reference_decoders.py (float64) on the folder's saved weights."""
    with open(os.path.join(folder, 'config.json')) as handle:
        config = json.load(handle)
    reference = llama_family(config, read_checkpoint(folder), ids)
    model.eval()
    with torch.no_grad():
        hidden, attentions = model.model(torch.tensor([ids]), keep_probabilities=True)
    model.train()
    attention_difference = max((ours[0].double() - theirs).abs().max().item()
                               for ours, theirs in zip(attentions, reference['attentions']))
    hidden_difference = (hidden[0].double() - reference['hidden_states'][-1]).abs().max().item()
    result = {'ids': len(ids), 'attentions_max_difference': attention_difference,
              'last_hidden_state_max_difference': hidden_difference, 'tolerance': REFERENCE_TOLERANCE}
    print(f'reference check on {folder}: {json.dumps(result)}', flush=True)
    if max(attention_difference, hidden_difference) > REFERENCE_TOLERANCE:
        sys.exit(f'llama.py disagrees with reference_decoders.py on {folder}: {result}')
    return result


def snapshot_due(cpu_minutes, next_mark):
    return cpu_minutes >= next_mark


def next_snapshot_mark(mark):
    """Every half CPU minute up to 4 (so that a tenth of a short run has a snapshot near it), then 25 % apart."""
    return mark + 0.5 if mark < 4 else mark * 1.25


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('corpus')
    parser.add_argument('tokenizer')
    parser.add_argument('run')
    parser.add_argument('--cpu-minutes', type=float, default=14.0)
    parser.add_argument('--lr', type=float, default=2e-3)
    # Not a tenth: in this short run the previous-token head forms between 0.5 and 1 CPU minute (see the
    # model card's snapshot table), so a tenth of the run already has the final's structure.
    parser.add_argument('--early-fraction', type=float, default=0.02)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--checkpoint-minutes', type=float, default=3.0, help='wall minutes between state saves')
    parser.add_argument('--heldout-sequences', type=int, default=160)
    parser.add_argument('--export-only', action='store_true')
    parser.add_argument('--check-reference', action='store_true', help='only check llama.py against the reference')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.run, exist_ok=True)
    state_path = os.path.join(args.run, 'state.pt')
    saved = torch.load(state_path, map_location='cpu') if os.path.exists(state_path) else None
    if args.export_only and not saved:
        sys.exit(f'{state_path} does not exist: there is no run to export. Train first (models/train.sh --decoder).')
    if saved:
        print(f"resuming from {state_path}: step {saved['step']}, {saved['cpu_seconds'] / 60:.1f} CPU minutes",
              flush=True)
    peak_lr = saved['peak_lr'] if saved else args.lr
    budget_minutes = saved['budget_cpu_minutes'] if saved and args.export_only else args.cpu_minutes

    tokenizer = ByteLevelBPE.load(args.tokenizer)
    cache_dir = os.path.dirname(os.path.normpath(args.run)) or '.'
    train_streams = encode_corpus(os.path.join(args.corpus, 'train.jsonl'), tokenizer, cache_dir, args.tokenizer)
    heldout_streams = encode_corpus(os.path.join(args.corpus, 'heldout.jsonl'), tokenizer, cache_dir, args.tokenizer)
    heldout = heldout_windows(heldout_streams, 256, args.heldout_sequences)
    vocab_size = len(tokenizer.vocab)
    counts = torch.zeros(vocab_size)
    for _language, ids in train_streams:
        counts += torch.bincount(torch.tensor(ids), minlength=vocab_size).float()
    unigram_log_probs = torch.log((counts + 1) / (counts + 1).sum())
    most_frequent = int(counts.argmax())

    torch.manual_seed(7)
    random.seed(7)
    config = {**DEFAULT_DECODER_CONFIG, 'vocab_size': vocab_size}
    model = LlamaForCausalLM(config).to(args.device)
    model.train()
    optimizer = torch.optim.AdamW(parameter_groups(model, WEIGHT_DECAY, True), lr=peak_lr, betas=(0.9, 0.95), eps=1e-8)
    generator = torch.Generator().manual_seed(11)
    streams = decoder_streams(train_streams)
    samplers = {length: Sampler(streams, length + 1, True, seed=5) for length in {l for _b, l in SHAPES}}
    reference_ids = heldout[0][:REFERENCE_IDS_LENGTH]
    step = tokens_seen = 0
    cpu_seconds = wall_seconds = 0.0
    snapshots, next_mark = [], 0.5
    if saved:
        model.load_state_dict(saved['model'])
        optimizer.load_state_dict(saved['optimizer'])
        for length, position in saved['data'].items():
            samplers[int(length)].restore(position)
        restore_rng(saved['rng'], generator, args.device)
        step, tokens_seen, cpu_seconds = saved['step'], saved['tokens_seen'], saved['cpu_seconds']
        wall_seconds, snapshots, next_mark = saved['wall_seconds'], saved['snapshots'], saved['next_snapshot_minutes']
    else:
        initial = os.path.join(args.run, 'initial')
        save_hf_folder(model, config, args.tokenizer, initial, {'checkpoint': 'initial', 'steps': 0})
        check_against_reference(model, initial, reference_ids)
        if args.check_reference:
            return
    budget = budget_minutes * 60

    loss_path = os.path.join(args.run, 'loss.csv')
    if not args.export_only:
        kept = []
        if saved and os.path.exists(loss_path):
            with open(loss_path) as handle:
                kept = [line for line in handle.readlines()[1:] if line.strip() and int(line.split(',')[0]) <= step]
        with open(loss_path, 'w') as handle:
            handle.write('step,cpu_s,wall_s,tokens_seen,loss,lr,seq_len\n' + ''.join(kept))

    def save_state():
        atomic_save({'objective': 'causal', 'peak_lr': peak_lr, 'model': model.state_dict(),
                     'optimizer': optimizer.state_dict(), 'step': step, 'tokens_seen': tokens_seen,
                     'cpu_seconds': cpu_seconds, 'wall_seconds': wall_seconds, 'budget_cpu_minutes': budget_minutes,
                     'data': {str(length): sampler.position() for length, sampler in samplers.items()},
                     'rng': rng_state(generator, args.device), 'snapshots': snapshots,
                     'next_snapshot_minutes': next_mark}, state_path)

    if not args.export_only:
        os.makedirs(os.path.join(args.run, 'snapshots'), exist_ok=True)
        loss_log = open(loss_path, 'a')
        cpu_start, wall_start, last_save = time.process_time(), time.time(), time.time()
        cpu_before, wall_before = cpu_seconds, wall_seconds
        while cpu_seconds < budget:
            lr = learning_rate(peak_lr, WARMUP, cpu_seconds / budget)
            for group in optimizer.param_groups:
                group['lr'] = lr
            batch_size, length = SHAPES[step % len(SHAPES)]
            inputs, targets = inputs_and_targets(samplers[length].take(batch_size))
            logits = model(inputs.to(args.device))
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab_size),
                                                     targets.to(args.device).reshape(-1), ignore_index=-100)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            tokens_seen += inputs.numel()
            cpu_seconds = cpu_before + time.process_time() - cpu_start
            wall_seconds = wall_before + time.time() - wall_start
            loss_log.write(f'{step},{cpu_seconds:.1f},{wall_seconds:.1f},{tokens_seen},{loss.item():.4f},'
                           f'{lr:.6g},{length}\n')
            if step % 20 == 0:
                loss_log.flush()
                print(f'step {step} cpu {cpu_seconds / 60:.2f} min wall {wall_seconds / 60:.1f} min '
                      f'loss {loss.item():.3f} lr {lr:.2e} tokens {tokens_seen}', flush=True)
            if snapshot_due(cpu_seconds / 60, next_mark) or cpu_seconds >= budget:
                name = f'step-{step:07d}.pt'
                atomic_save({key: value.cpu() for key, value in model.state_dict().items()},
                            os.path.join(args.run, 'snapshots', name))
                snapshots.append({'file': name, 'steps': step, 'tokens_seen': tokens_seen,
                                  'cpu_minutes': cpu_seconds / 60, 'wall_minutes': wall_seconds / 60})
                next_mark = next_snapshot_mark(next_mark)
            if time.time() - last_save >= args.checkpoint_minutes * 60 or cpu_seconds >= budget:
                loss_log.flush()
                save_state()
                last_save = time.time()
        loss_log.close()
    export(args, config, model, snapshots, step, tokens_seen, cpu_seconds, wall_seconds, peak_lr, budget_minutes,
           heldout, unigram_log_probs, most_frequent, train_streams, reference_ids)


def export(args, config, model, snapshots, step, tokens_seen, cpu_seconds, wall_seconds, peak_lr, budget_minutes,
           heldout, unigram_log_probs, most_frequent, train_streams, reference_ids):
    with open(os.path.join(args.corpus, 'stats.json')) as handle:
        corpus_summary = json.load(handle)
    base = {'objective': 'causal language model (next-subword cross-entropy at every position)',
            'corpus': corpus_summary, 'train_tokens': sum(len(ids) + 2 for _language, ids in train_streams),
            'data': 'raw text of each file, <s> + file + </s>, packed; every row starts with <s>',
            'shapes': [list(shape) for shape in SHAPES], 'heldout_windows': len(heldout),
            'optimizer': f'AdamW lr {peak_lr:g} betas (0.9, 0.95) weight decay {WEIGHT_DECAY:g} on matrices, '
                         f'warm-up {WARMUP * 100:g} % of the budget, linear decay to 0, gradient clipping 1.0',
            'budget_cpu_minutes': budget_minutes, 'threads': args.threads, 'device': args.device,
            'torch': torch.__version__}
    evaluations = {}
    final = {'checkpoint': 'final', 'steps': step, 'tokens_seen': tokens_seen, 'cpu_minutes': cpu_seconds / 60,
             'wall_minutes': wall_seconds / 60, **base}
    final['heldout'] = evaluations['final'] = evaluate(model, heldout, unigram_log_probs, most_frequent, args.device)
    final_folder = os.path.join(args.run, 'final')
    save_hf_folder(model, config, args.tokenizer, final_folder, final)
    final['reference_check'] = check_against_reference(model, final_folder, reference_ids)
    save_hf_folder(model, config, args.tokenizer, final_folder, final)
    if snapshots:
        target = cpu_seconds / 60 * args.early_fraction
        chosen = min(snapshots, key=lambda entry: abs(entry['cpu_minutes'] - target))
        early_model = LlamaForCausalLM(config)
        early_model.load_state_dict(torch.load(os.path.join(args.run, 'snapshots', chosen['file']), map_location='cpu'))
        early = {'checkpoint': 'early', **{key: value for key, value in chosen.items() if key != 'file'}, **base}
        early['heldout'] = evaluations['early'] = evaluate(early_model, heldout, unigram_log_probs, most_frequent,
                                                           'cpu')
        early_folder = os.path.join(args.run, 'early')
        save_hf_folder(early_model, config, args.tokenizer, early_folder, early)
        early['reference_check'] = check_against_reference(early_model, early_folder, reference_ids)
        save_hf_folder(early_model, config, args.tokenizer, early_folder, early)
    with open(os.path.join(args.run, 'eval.json'), 'w') as handle:
        json.dump(evaluations, handle, indent=2)
    print(json.dumps(evaluations, indent=2), flush=True)


if __name__ == '__main__':
    main()
