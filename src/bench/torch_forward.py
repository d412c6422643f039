"""PyTorch eager forward time of a checkpoint, for `npm run bench` (src/bench/bench.ts).

Usage: python3 torch_forward.py CHECKPOINT_DIR THREADS REPEATS < ids.json
ids.json is a JSON list of id lists (one per sequence length), the same inputs the bench feeds to
onnxruntime-node. The forward returns the same outputs as the ONNX export: last hidden state,
attentions and value norms of every layer. Prints one JSON object: {"medianMs": [...]}.
Exits with status 3 and a one-line reason when torch or the checkpoint is missing.
"""
import json
import os
import sys
import time

try:
    import torch
except ImportError:
    print('torch not installed', file=sys.stderr)
    sys.exit(3)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'models', 'tools'))


def main():
    checkpoint, threads, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if not os.path.exists(os.path.join(checkpoint, 'pytorch_model.bin')):
        print(f'no checkpoint at {checkpoint}', file=sys.stderr)
        sys.exit(3)
    try:
        from roberta import load_encoder
    except ImportError:
        print('models/tools/roberta.py not found', file=sys.stderr)
        sys.exit(3)
    torch.set_num_threads(threads)
    encoder, _ = load_encoder(checkpoint)
    medians = []
    with torch.no_grad():
        for ids in json.load(sys.stdin):
            input_ids = torch.tensor([ids], dtype=torch.long)
            mask = torch.ones_like(input_ids)
            encoder(input_ids, mask, with_attentions=True, with_value_norms=True)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                hidden, attentions, norms = encoder(input_ids, mask, with_attentions=True, with_value_norms=True)
                torch.stack(attentions)
                torch.stack(norms)
                times.append((time.perf_counter() - start) * 1000)
            times.sort()
            medians.append(times[len(times) // 2])
    print(json.dumps({'medianMs': medians}))


if __name__ == '__main__':
    main()
