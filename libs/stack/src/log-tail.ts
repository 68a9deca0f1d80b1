import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** The last `n` lines of `text` (a trailing newline ignored), each cut to `width` characters. */
export function lastLines(text: string, n: number, width: number): string[] {
  const lines = text.replace(/\n$/, '').split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  return lines.slice(-n).map((l) => (l.length > width ? `${l.slice(0, width)}…` : l));
}

/** The last `n` lines of a log file (reading at most its last 64 KiB); empty when it cannot be read. */
export function tailFile(file: string, n = 8, width = 400): string[] {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    return lastLines(buf.toString('utf8'), n, width);
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
