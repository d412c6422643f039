#!/usr/bin/python3
"""Downsamples a training loss curve for committing and prints a Markdown summary of it.

Usage: loss_curve.py RUN_DIR/loss.csv OUT_CSV [--rows 300] [--until-step N] [--before CURVE_CSV]

OUT_CSV gets at most ~--rows rows: the mean training loss over each block of consecutive steps,
with the step, CPU seconds (or, for runs logged before CPU-time budgets, elapsed wall seconds),
tokens seen and learning rate at the block's end. The Markdown table on stdout gives the mean loss
per window of CPU minutes (for the model cards). --until-step limits the summary (not the CSV) to
the first N steps, e.g. for the early checkpoint. --before is a curve this script wrote for the
model a warm-started run began from (its folder's loss.csv): its rows are kept as they are ahead
of the new ones, and the summary weighs each by the steps it stands for.
"""
import argparse
import csv


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('loss_csv')
    parser.add_argument('out_csv')
    parser.add_argument('--rows', type=int, default=300)
    parser.add_argument('--until-step', type=int)
    parser.add_argument('--before')
    args = parser.parse_args()
    with open(args.loss_csv) as handle:
        rows = list(csv.DictReader(handle))
    before = []
    if args.before:
        with open(args.before) as handle:
            before = [{**row, 'loss': row['loss_mean'], 'weight': int(row['steps_in_block'])} for row in csv.DictReader(handle)]
        first = int(rows[0]['step']) if rows else 0
        before = [row for row in before if int(row['step']) < first]
    clock = 'cpu_s' if 'cpu_s' in rows[0] else 'elapsed_s'
    block = max(1, -(-len(rows) // args.rows))
    with open(args.out_csv, 'w') as handle:
        handle.write(f'step,{clock},tokens_seen,loss_mean,lr,steps_in_block\n')
        for row in before:
            handle.write(f"{row['step']},{row[clock]},{row['tokens_seen']},{row['loss_mean']},{row['lr']},{row['steps_in_block']}\n")
        for start in range(0, len(rows), block):
            group = rows[start:start + block]
            last = group[-1]
            mean = sum(float(row['loss']) for row in group) / len(group)
            handle.write(f"{last['step']},{last[clock]},{last['tokens_seen']},{mean:.4f},{last['lr']},{len(group)}\n")
    rows = before + rows
    if args.until_step:
        rows = [row for row in rows if int(row['step']) <= args.until_step]
    total = float(rows[-1][clock]) / 60
    marks = [mark for mark in (0, 1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 240, 300, 360, 480, 600, 720, 900)
             if mark < total - 0.5] or [0]  # a budget's last step can pass its mark by seconds: no one-step window
    unit = 'CPU minutes' if clock == 'cpu_s' else 'minutes (wall)'
    print('Training loss on the masked subwords (one batch per step, so noisy), mean per window:')
    print()
    print(f'| {unit} | mean training loss | steps at window end | subwords seen at window end |')
    print('| --- | ---: | ---: | ---: |')
    for lo, hi in zip(marks, marks[1:] + [float('inf')]):
        inside = [row for row in rows if lo <= float(row[clock]) / 60 < hi]
        if not inside:
            continue
        weights = [row.get('weight', 1) for row in inside]
        mean = sum(float(row['loss']) * weight for row, weight in zip(inside, weights)) / sum(weights)
        end = min(hi, total)
        print(f"| {lo}–{end:.0f} | {mean:.3f} | {inside[-1]['step']} | {int(inside[-1]['tokens_seen']):,} |")


if __name__ == '__main__':
    main()
