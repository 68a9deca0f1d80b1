// A program for exit.test.ts: writes argv[2] bytes (then a newline) to stdout, keeps its event
// loop busy as the CLI's open gRPC channels do, and exits with argv[3] through the CLI's helper.
import { exitWhenWritten, quietOnBrokenPipe } from './exit.js';

quietOnBrokenPipe();
const size = Number(process.argv[2]);
const code = Number(process.argv[3] ?? 0);
setInterval(() => undefined, 1000);
process.stdout.write(`${'x'.repeat(size)}\n`);
void exitWhenWritten(code);
