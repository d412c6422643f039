/* The walker's state: for every name, the occurrences that may define its current value, with
 * constant-time forks for branches and their merge. */

/** Chains of forked states longer than this are flattened, so that lookups stay cheap. */
const MAX_STATE_DEPTH = 24;

/** Marks a name as having no definition in a fork although its parent has one (a block scope ended). */
const NO_DEFINITION: readonly number[] = Object.freeze([]);

/**
 * For every name, the occurrences (token indices) that may have defined its current value.
 * Branches fork the states in constant time: a fork records only its own definitions and reads
 * through to its parent, which must not change while the fork is in use (the walker only changes
 * the newest states). Definition lists are replaced, never changed in place, so they are shared.
 */
export class States {
  private readonly own = new Map<string, number[]>();
  readonly depth: number;

  constructor(readonly parent?: States) {
    this.depth = parent ? parent.depth + 1 : 0;
  }

  get(name: string): number[] | undefined {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the walk up the parent chain starts here
    for (let states: States | undefined = this; states; states = states.parent) {
      const sources = states.own.get(name);
      if (sources !== undefined) return sources === NO_DEFINITION ? undefined : sources;
    }
    return undefined;
  }

  set(name: string, sources: number[]): void {
    this.own.set(name, sources);
  }

  /** The name has no definition from here on (until it is set again). */
  delete(name: string): void {
    this.own.set(name, NO_DEFINITION as number[]);
  }

  fork(): States {
    if (this.depth < MAX_STATE_DEPTH) return new States(this);
    const flat = new States();
    for (const [name, sources] of this.flatten()) flat.own.set(name, sources);
    return flat;
  }

  /** Names defined in this fork since `ancestor` (all names when `ancestor` is undefined). */
  namesSince(ancestor: States | undefined, into: Set<string>): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the walk up the parent chain starts here
    for (let states: States | undefined = this; states && states !== ancestor; states = states.parent) {
      for (const name of states.own.keys()) into.add(name);
    }
  }

  /** Every name with its current definitions. */
  flatten(): Map<string, number[]> {
    const chain: States[] = [];
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the walk up the parent chain starts here
    for (let states: States | undefined = this; states; states = states.parent) chain.push(states);
    const flat = new Map<string, number[]>();
    for (let i = chain.length - 1; i >= 0; i--) {
      for (const [name, sources] of chain[i].own) {
        if (sources === NO_DEFINITION) flat.delete(name);
        else flat.set(name, sources);
      }
    }
    return flat;
  }
}

/** The union of the branches' definitions, as a fork of their nearest common ancestor. */
export function merge(branches: States[]): States {
  const ancestor = commonAncestor(branches);
  const merged = ancestor ? ancestor.fork() : new States();
  const base = merged.parent;
  const names = new Set<string>();
  for (const branch of branches) branch.namesSince(base, names);
  for (const name of names) {
    let sources: number[] | undefined;
    for (const branch of branches) sources = union(sources, branch.get(name));
    if (sources !== undefined && sources !== base?.get(name)) merged.set(name, sources);
    else if (sources === undefined && base?.get(name) !== undefined) merged.delete(name);
  }
  return merged;
}

/** The sorted union of two definition lists; either one itself when the other adds nothing. */
export function union(a: number[] | undefined, b: number[]): number[];
export function union(a: number[] | undefined, b: number[] | undefined): number[] | undefined;
export function union(a: number[] | undefined, b: number[] | undefined): number[] | undefined {
  if (a === undefined || a === b) return b;
  if (b === undefined) return a;
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}

function commonAncestor(branches: States[]): States | undefined {
  let candidates: States[] = [];
  for (let states: States | undefined = branches[0]; states; states = states.parent) candidates.push(states);
  for (const branch of branches.slice(1)) {
    const chain = new Set<States>();
    for (let states: States | undefined = branch; states; states = states.parent) chain.add(states);
    candidates = candidates.filter((candidate) => chain.has(candidate));
  }
  return candidates[0];
}
