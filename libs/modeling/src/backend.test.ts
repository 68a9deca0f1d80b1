import { expect, it } from 'vitest';
import { currentBackend, initBackend } from './index.js';
import { tf } from './tf.js';

// Runs in its own worker process, so it sees the library before any backend was chosen.
it('auto picks tfjs-node when installed, else wasm, and can switch on request', async () => {
  expect(currentBackend()).toBe('none');
  const auto = await initBackend();
  expect(['tensorflow', 'wasm']).toContain(auto.backend);
  expect(currentBackend()).toBe(auto.backend);
  expect(await initBackend({ prefer: 'auto' })).toEqual(auto);

  expect(await initBackend({ prefer: 'cpu' })).toEqual({ backend: 'cpu' });
  expect(tf.getBackend()).toBe('cpu');
  expect(await initBackend({ prefer: 'wasm' })).toEqual({ backend: 'wasm' });
  // Tensors work after the switch (the wasm binary really loaded).
  expect(Array.from(tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1).dataSync()))).toEqual([2, 3]);
});
