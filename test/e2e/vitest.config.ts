import { defineConfig, mergeConfig } from 'vitest/config';
import { shared } from '../../vitest.shared.js';

// One file at a time: each test starts all seven services as processes.
export default mergeConfig(shared, defineConfig({ test: { include: ['src/**/*.e2e.test.ts'], testTimeout: 300_000, hookTimeout: 120_000, fileParallelism: false } }));
