#!/usr/bin/python3
"""Prints the recipe comparison as a Markdown table.

Usage: recipe_table.py RUN_DIR:STRUCTURE_JSON [RUN_DIR:STRUCTURE_JSON ...]
RUN_DIR is a train.py run folder (its final/training.json holds the recipe, steps, CPU time and
held-out evaluation); STRUCTURE_JSON is what `measure_structure.cjs EXPORT --heldout DIR --json`
wrote for that run's exported final checkpoint.
"""
import json
import os
import sys


def main():
    print('| recipe | steps | subwords seen | CPU min | held-out loss | accuracy (256) | accuracy (512) | '
          'previous-token head (chance) | bracket head, either direction (chance) | closing → opening | opening → closing | CAT − baseline, layers 0–3 | DFG − baseline, layers 0–3 |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- | --- | --- |')
    for argument in sys.argv[1:]:
        run, structure_path = argument.split(':')
        training = json.load(open(os.path.join(run, 'final', 'training.json')))
        structure = json.load(open(structure_path))
        measured = structure.get('heldout') or structure['examples']
        heldout = training['heldout']

        def head(relation):
            if relation not in measured['heads_']:
                return 'n/a'
            best = measured['heads_'][relation]['top'][0]
            return f"L{best['layer']}H{best['head']} {best['accuracy']:.2f} ({best['chance']:.3f})"

        cat = ' / '.join(f"{entry['cat'] - entry['catBaseline']:+.3f}" for entry in measured['perLayer'])
        flow = ' / '.join(f"{entry['dataFlow'] - entry['dataFlowBaseline']:+.4f}" for entry in measured['perLayer'])
        print(f"| {training['recipe']} | {training['steps']} | {training['tokens_seen']:,} | {training['cpu_minutes']:.1f} | "
              f"{heldout['loss']:.3f} | {heldout['accuracy']:.3f} | {heldout['length_512']['accuracy']:.3f} | "
              f"{head('previousToken')} | {head('matchingBracket')} | {head('closerToOpener')} | {head('openerToCloser')} | {cat} | {flow} |")


if __name__ == '__main__':
    main()
