import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // The chaos run goes alone afterwards (vitest.chaos.config.ts): it counts faults and writes
    // per second, which other files running beside it would slow down.
    exclude: ['test/chaos/chaos.test.ts', '**/node_modules/**'],
    // oclif writes through console; without this Vitest swallows it.
    disableConsoleIntercept: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites share real services; files run in parallel, each with its own prefix and tables.
    pool: 'forks',
    // Most files wait on services and child processes, not on the CPU: three at a time on two cores.
    maxWorkers: 3,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
})
