import {defineConfig} from 'vitest/config'

import base from './vitest.config.js'

/** The chaos run, alone: `npm test` runs it after every other file (see vitest.config.ts). */
export default defineConfig({...base, test: {...base.test, include: ['test/chaos/chaos.test.ts'], exclude: ['**/node_modules/**'], maxWorkers: 1}})
