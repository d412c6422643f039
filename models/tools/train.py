#!/usr/bin/python3
"""Masked-language-model training of the miniature CodeBERT on 2 CPU threads, bounded by time.

Usage: train.py CORPUS_DIR TOKENIZER_DIR RUN_DIR [--minutes 62] [--early-fraction 0.1]

15 % of subwords are chosen (never <s>, </s>, <pad>): 80 % become <mask>, 10 % a random token,
10 % stay. AdamW, learning rate warmed up over the first 5 % of the time budget and decayed
linearly to zero at its end. One batch in eight is 8 × 512 subwords so that positions past 256
are trained; the others are 16 × 256. Saves RUN_DIR/early (at --early-fraction of the time) and
RUN_DIR/final as Hugging Face checkpoint folders, the loss curve as RUN_DIR/loss.csv, and the
held-out evaluation (with a unigram baseline) as RUN_DIR/eval.json.
"""
import argparse
import json
import math
import os
import random
import shutil
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import ByteLevelBPE  # noqa: E402
from roberta import DEFAULT_CONFIG, Config, RobertaForMaskedLM  # noqa: E402

BOS, PAD, EOS, UNK, MASK = 0, 1, 2, 3, 4
SHAPES = [(16, 256)] * 7 + [(8, 512)]


def encode_corpus(path, tokenizer):
    streams = []
    with open(path) as handle:
        for line in handle:
            record = json.loads(line)
            streams.append((record['language'], tokenizer.encode(record['text'])))
    return streams


def chunks(streams, length):
    body = length - 2
    out = []
    for _language, ids in streams:
        for start in range(0, len(ids), body):
            piece = ids[start:start + body]
            if len(piece) >= 16:
                out.append([BOS] + piece + [EOS])
    return out


def batchify(sequences, length):
    batch = torch.full((len(sequences), length), PAD, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        batch[row, :len(sequence)] = torch.tensor(sequence)
    return batch


def mask_tokens(batch, vocab_size, generator):
    labels = batch.clone()
    maskable = batch > MASK  # never specials
    chosen = (torch.rand(batch.shape, generator=generator) < 0.15) & maskable
    labels[~chosen] = -100
    inputs = batch.clone()
    action = torch.rand(batch.shape, generator=generator)
    inputs[chosen & (action < 0.8)] = MASK
    randomised = chosen & (action >= 0.8) & (action < 0.9)
    inputs[randomised] = torch.randint(5, vocab_size, batch.shape, generator=generator)[randomised]
    return inputs, labels


@torch.no_grad()
def evaluate(model, sequences, vocab_size, unigram_log_probs, most_frequent):
    model.eval()
    generator = torch.Generator().manual_seed(1234)
    total_loss = total_correct = total_unigram = total_majority = count = 0.0
    for start in range(0, len(sequences), 16):
        group = sequences[start:start + 16]
        batch = batchify(group, max(len(s) for s in group))
        inputs, labels = mask_tokens(batch, vocab_size, generator)
        logits = model(inputs, batch.ne(PAD).long())
        chosen = labels != -100
        target = labels[chosen]
        log_probs = torch.log_softmax(logits[chosen], dim=-1)
        total_loss += -log_probs.gather(1, target[:, None]).sum().item()
        total_correct += (log_probs.argmax(-1) == target).sum().item()
        total_unigram += -unigram_log_probs[target].sum().item()
        total_majority += (target == most_frequent).sum().item()
        count += target.numel()
    model.train()
    return {'masked_tokens': int(count), 'loss': total_loss / count, 'accuracy': total_correct / count,
            'unigram_loss': total_unigram / count, 'unigram_accuracy': total_majority / count}


def save_checkpoint(model, tokenizer_dir, folder, summary):
    model.save_pretrained(folder)
    for name in ('tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json'):
        shutil.copy(os.path.join(tokenizer_dir, name), os.path.join(folder, name))
    with open(os.path.join(folder, 'training.json'), 'w') as handle:
        json.dump(summary, handle, indent=2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('corpus')
    parser.add_argument('tokenizer')
    parser.add_argument('run')
    parser.add_argument('--minutes', type=float, default=62.0)
    parser.add_argument('--early-fraction', type=float, default=0.1)
    parser.add_argument('--layers', type=int, default=4)
    parser.add_argument('--hidden', type=int, default=256)
    parser.add_argument('--heads', type=int, default=4)
    parser.add_argument('--lr', type=float, default=6e-4)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(7)
    random.seed(7)
    os.makedirs(args.run, exist_ok=True)

    tokenizer = ByteLevelBPE.load(args.tokenizer)
    started = time.time()
    train_streams = encode_corpus(os.path.join(args.corpus, 'train.jsonl'), tokenizer)
    heldout_streams = encode_corpus(os.path.join(args.corpus, 'heldout.jsonl'), tokenizer)
    print(f'encoded corpus in {time.time() - started:.0f}s', flush=True)
    pools = {length: chunks(train_streams, length) for length in (256, 512)}
    heldout = chunks(heldout_streams, 256)[:400]
    vocab_size = len(tokenizer.vocab)
    counts = torch.zeros(vocab_size)
    for _language, ids in train_streams:
        counts += torch.bincount(torch.tensor(ids), minlength=vocab_size).float()
    unigram_log_probs = torch.log((counts + 1) / (counts + 1).sum())
    most_frequent = int(counts.argmax())

    config = Config({**DEFAULT_CONFIG, 'vocab_size': vocab_size, 'hidden_size': args.hidden,
                     'num_hidden_layers': args.layers, 'num_attention_heads': args.heads,
                     'intermediate_size': 4 * args.hidden})
    model = RobertaForMaskedLM(config)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.98), eps=1e-6)
    generator = torch.Generator().manual_seed(11)
    budget = args.minutes * 60
    corpus_summary = json.load(open(os.path.join(args.corpus, 'stats.json')))
    train_tokens = sum(len(ids) for _language, ids in train_streams)
    step = tokens_seen = 0
    early_saved = False
    loss_log = open(os.path.join(args.run, 'loss.csv'), 'w')
    loss_log.write('step,elapsed_s,tokens_seen,loss,lr,seq_len\n')
    begin = time.time()
    while True:
        elapsed = time.time() - begin
        fraction = elapsed / budget
        if fraction >= 1:
            break
        lr = args.lr * min(fraction / 0.05, (1 - fraction) / 0.95)
        for group in optimizer.param_groups:
            group['lr'] = lr
        batch_size, length = SHAPES[step % len(SHAPES)]
        batch = batchify(random.sample(pools[length], batch_size), length)
        inputs, labels = mask_tokens(batch, vocab_size, generator)
        logits = model(inputs, batch.ne(PAD).long())
        loss = torch.nn.functional.cross_entropy(logits.view(-1, vocab_size), labels.view(-1), ignore_index=-100)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        tokens_seen += int(batch.ne(PAD).sum())
        loss_log.write(f'{step},{elapsed:.1f},{tokens_seen},{loss.item():.4f},{lr:.6g},{length}\n')
        if step % 20 == 0:
            loss_log.flush()
            print(f'step {step} {elapsed / 60:.1f} min loss {loss.item():.3f} lr {lr:.2e} tokens {tokens_seen}', flush=True)
        if not early_saved and fraction >= args.early_fraction:
            summary = {'checkpoint': 'early', 'steps': step, 'tokens_seen': tokens_seen, 'minutes': elapsed / 60}
            save_checkpoint(model, args.tokenizer, os.path.join(args.run, 'early'), summary)
            early_saved = True
            print(f'saved early checkpoint at step {step}', flush=True)
    loss_log.close()
    minutes = (time.time() - begin) / 60
    base = {'corpus': corpus_summary, 'train_tokens': train_tokens, 'heldout_sequences': len(heldout),
            'trained_lengths': sorted({length for _b, length in SHAPES}), 'mask_rate': 0.15,
            'optimizer': f'AdamW lr {args.lr}, warmup 5 %, linear decay', 'threads': args.threads}
    final = {'checkpoint': 'final', 'steps': step, 'tokens_seen': tokens_seen, 'minutes': minutes, **base}
    final['heldout'] = evaluate(model, heldout, vocab_size, unigram_log_probs, most_frequent)
    save_checkpoint(model, args.tokenizer, os.path.join(args.run, 'final'), final)
    early_folder = os.path.join(args.run, 'early')
    early_summary = json.load(open(os.path.join(early_folder, 'training.json')))
    from roberta import load_encoder  # noqa: F401  (keeps the loader exercised on our own files)
    early_model = RobertaForMaskedLM(config)
    state = torch.load(os.path.join(early_folder, 'pytorch_model.bin'))
    early_model.load_state_dict(state, strict=False)
    early_model.lm_head.decoder.weight = early_model.roberta.embeddings.word_embeddings.weight
    early_summary.update(base)
    early_summary['heldout'] = evaluate(early_model, heldout, vocab_size, unigram_log_probs, most_frequent)
    with open(os.path.join(early_folder, 'training.json'), 'w') as handle:
        json.dump(early_summary, handle, indent=2)
    with open(os.path.join(args.run, 'eval.json'), 'w') as handle:
        json.dump({'final': final['heldout'], 'early': early_summary['heldout']}, handle, indent=2)
    print(json.dumps({'final': final['heldout'], 'early': early_summary['heldout']}, indent=2), flush=True)


if __name__ == '__main__':
    main()
