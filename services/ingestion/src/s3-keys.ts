import { InvalidInputError } from '@refit/platform';

/** Longest key S3 accepts, in bytes. */
const MAX_KEY_BYTES = 1024;

/**
 * What is wrong with an object key, or undefined when it is a plain one: not empty, no empty,
 * `.` or `..` segment, no backslash or control character. Prefix checks then mean what they say:
 * `weather/../secrets/x` is not under `weather/` for a reader that normalises paths (some S3
 * gateways and file-backed stores do).
 */
export function s3KeyProblem(key: string): string | undefined {
  if (key === '') return 'is empty';
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  if (/[\u0000-\u001f\u007f\\]/.test(key)) return 'has a control character or a backslash';
  const segments = key.split('/');
  if (segments.includes('')) return "has an empty segment (a leading, trailing or doubled '/')";
  if (segments.some((s) => s === '.' || s === '..')) return "has a '.' or '..' segment";
  return undefined;
}

/** Splits `s3://bucket/key`. @throws InvalidInputError when it is not such an address. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/s.exec(uri);
  if (!m) throw new InvalidInputError(`'${uri}' is not an S3 address: expected s3://bucket/key`);
  return { bucket: m[1], key: m[2] };
}
