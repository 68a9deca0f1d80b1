/**
 * Runs being trained in this process, so a `run.cancelled` event (or a cancellation another replica
 * recorded) can stop them at the next tfjs yield point or epoch.
 */
export class ActiveRuns {
  readonly #controllers = new Map<string, AbortController>();

  /** Registers a run and returns the signal its training watches. */
  start(runId: string): AbortSignal {
    const ac = new AbortController();
    this.#controllers.set(runId, ac);
    return ac.signal;
  }

  /** Forgets a run whose training ended. */
  end(runId: string): void {
    this.#controllers.delete(runId);
  }

  /** Aborts the run's training if it runs here; true when it did. */
  cancel(runId: string, reason: string): boolean {
    const ac = this.#controllers.get(runId);
    if (!ac) return false;
    ac.abort(new RunCancelledError(runId, reason));
    return true;
  }
}

/** The reason a cancelled training rejects with. */
export class RunCancelledError extends Error {
  constructor(
    readonly runId: string,
    readonly reason: string,
  ) {
    super(`run ${runId} was cancelled${reason ? `: ${reason}` : ''}`);
    this.name = 'RunCancelledError';
  }
}
