import { createRequire } from 'node:module';
import path from 'node:path';
import { tf } from './tf.js';

/** Which TensorFlow.js backend to run on. `'tensorflow'` is the native one from `@tensorflow/tfjs-node`. */
export type BackendPreference = 'auto' | 'wasm' | 'cpu' | 'tensorflow';

// Kept in a variable so TypeScript does not look for the (optional, usually absent) package's types.
const TFJS_NODE = '@tensorflow/tfjs-node';

const FALLBACKS: Record<BackendPreference, Array<'tensorflow' | 'wasm' | 'cpu'>> = {
  auto: ['tensorflow', 'wasm', 'cpu'],
  tensorflow: ['tensorflow', 'wasm', 'cpu'],
  wasm: ['wasm', 'cpu'],
  cpu: ['cpu'],
};

// One registration attempt per backend per process: re-importing or re-pointing wasm is wasteful.
const registered = new Map<string, Promise<boolean>>();
let chosen: Promise<{ backend: string }> | undefined;
let chosenFor: BackendPreference | undefined;

async function registerTensorflow(): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ TFJS_NODE);
    return tf.findBackendFactory('tensorflow') != null;
  } catch {
    return false;
  }
}

async function registerWasm(): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
    // The Node build locates the .wasm binaries next to its entry file; a trailing slash marks a prefix.
    wasm.setWasmPaths(path.dirname(entry) + '/');
    // Multi-threaded wasm needs Web Workers, which Node's build does not provide.
    wasm.setThreadsCount(1);
    return true;
  } catch {
    return false;
  }
}

function register(name: 'tensorflow' | 'wasm' | 'cpu'): Promise<boolean> {
  let p = registered.get(name);
  if (p === undefined) {
    p = name === 'tensorflow' ? registerTensorflow() : name === 'wasm' ? registerWasm() : Promise.resolve(true);
    registered.set(name, p);
  }
  return p;
}

async function select(prefer: BackendPreference): Promise<{ backend: string }> {
  for (const name of FALLBACKS[prefer]) {
    if (!(await register(name))) continue;
    if (tf.getBackend() === name) return { backend: name };
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { backend: name };
      }
    } catch {
      // setBackend rejects when the backend's async init fails (e.g. wasm binary not loadable).
    }
  }
  throw new Error(`no TensorFlow.js backend could be initialised (tried ${FALLBACKS[prefer].join(', ')})`);
}

/**
 * Selects and initialises the TensorFlow.js backend; call once at startup (the caller decides the
 * preference, e.g. from its own config). Idempotent: calling again with the same preference returns
 * the same result without re-initialising. `prefer` (default `'auto'`) is a preference, not a demand:
 * `'auto'`/`'tensorflow'` try tfjs-node, then wasm, then cpu; `'wasm'` tries wasm, then cpu. The
 * resolved `backend` says what was actually chosen, so the caller can log or refuse a fallback.
 */
export function initBackend(opts: { prefer?: BackendPreference } = {}): Promise<{ backend: string }> {
  const prefer = opts.prefer ?? 'auto';
  if (chosen !== undefined && (prefer === chosenFor || prefer === 'auto')) return chosen;
  const attempt = select(prefer);
  chosen = attempt;
  chosenFor = prefer;
  // A failed attempt must not be cached, or the process could never retry.
  attempt.catch(() => {
    if (chosen === attempt) {
      chosen = undefined;
      chosenFor = undefined;
    }
  });
  return attempt;
}

/**
 * Initialises the default backend unless {@link initBackend} already ran, so library entry points
 * work without an explicit setup call. Internal to this library.
 */
export async function ensureBackend(): Promise<string> {
  await initBackend();
  // Report what is really active: a caller may have switched with tf.setBackend directly.
  return tf.getBackend();
}

/** Name of the active backend (`'tensorflow'`, `'wasm'`, `'cpu'`), or `'none'` before any initialisation. */
export function currentBackend(): string {
  return tf.getBackend() ?? 'none';
}
