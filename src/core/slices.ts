/**
 * Long synchronous work cut into slices that give the event loop a turn in between, so that the
 * thread running an analysis (the extension host's) keeps answering: each slice is at most about
 * `budgetMs` of work, then one macrotask (`setImmediate`) lets timers, I/O and messages run.
 * Work done as a generator yields at its natural steps (a layer, a head, a batch of nodes); only
 * the drivers below decide whether a step ends a slice, so the sync and sliced forms share one
 * code path and give the same result.
 */

/** A slice's default length: well under the 100 ms at which a pause is felt. */
export const SLICE_BUDGET_MS = 20;

let defaultBudgetMs = SLICE_BUDGET_MS;

/**
 * Sets the length of the slices made from now on and returns the previous one. 0 ends a slice
 * at every step, which makes the number of turns independent of the machine's speed (the tests).
 */
export function setSliceBudget(budgetMs: number): number {
  if (!(budgetMs >= 0)) throw new Error(`A slice budget is a number of milliseconds ≥ 0, got ${budgetMs}.`);
  const previous = defaultBudgetMs;
  defaultBudgetMs = budgetMs;
  return previous;
}

/** Resolves on the next turn of the event loop, after pending timers and I/O callbacks. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Measures the current slice; `due()` is cheap enough to call every few thousand operations. */
export class Slicer {
  private started = performance.now();
  /** Turns given to the event loop so far. */
  turns = 0;

  constructor(readonly budgetMs = defaultBudgetMs) {}

  /** Whether the current slice has used its budget. */
  due(): boolean {
    return performance.now() - this.started >= this.budgetMs;
  }

  /** Ends the slice: one turn of the event loop, then a new slice starts. */
  async yield(): Promise<void> {
    await nextTurn();
    this.turns++;
    this.started = performance.now();
  }

  /** Ends the slice only if it has used its budget. */
  async yieldIfDue(): Promise<void> {
    if (this.due()) await this.yield();
  }
}

/** Work cut into steps: each `yield` marks a point where a slice may end. */
export type Steps<T> = Generator<void, T, void>;

/** Runs `steps` to the end at once (the synchronous form). */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** Runs `steps`, giving the event loop a turn whenever a slice has used its budget. */
export async function runStepsSliced<T>(steps: Steps<T>, slicer: Slicer): Promise<T> {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    await slicer.yieldIfDue();
  }
}
