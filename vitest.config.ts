import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // oclif writes through console; without this Vitest swallows it.
    disableConsoleIntercept: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites share real services; files run in parallel, each with its own prefix and tables.
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
})
