// process.exit() ends the process at once, dropping whatever stdout has not yet handed to a pipe:
// on Linux a pipe is written asynchronously, so `refit ledger p --json | wc -c` counted 131,072
// bytes of a 3 MB answer. The CLI still has to exit explicitly (its gRPC channels keep the event
// loop alive), so it exits through here.

/** Resolves once everything written to `stream` so far is handed to the OS (or the stream is gone). */
function written(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded || !stream.writable) {
      resolve();
      return;
    }
    // Writes complete in order: this empty one's callback runs after every earlier one's.
    stream.write('', () => resolve());
  });
}

/**
 * Exits with `code` once stdout and stderr are written out. A consumer that never reads holds the
 * exit as it holds any program writing to a pipe; one that went away does not (see
 * {@link quietOnBrokenPipe}).
 */
export async function exitWhenWritten(code: number, streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): Promise<never> {
  process.exitCode = code;
  await Promise.all(streams.map(written));
  process.exit(code);
}

/**
 * A consumer that stops reading (`| head`) makes the next write fail with EPIPE: the program then
 * ends quietly with the exit code it had, instead of an unhandled 'error' event and a stack trace.
 */
export function quietOnBrokenPipe(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw err;
    });
  }
}
