// Lint rules for wbc. The type-aware rules are the point: a promise nobody awaits or handles (a lost
// flush error, a write that outlives its lease) and code nothing uses are what they catch.
import js from '@eslint/js'
import {defineConfig, globalIgnores} from 'eslint/config'
import reactHooks from 'eslint-plugin-react-hooks'
import tseslint from 'typescript-eslint'

// The Node globals the plain JavaScript files use (the TypeScript files get theirs from @types/node).
const nodeGlobals = {
  console: 'readonly',
  process: 'readonly',
  URL: 'readonly',
  Buffer: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
}

// A leading underscore marks a binding that is unused on purpose (a required parameter, a skipped
// element of a destructured tuple).
const unusedVars = {
  args: 'after-used',
  argsIgnorePattern: '^_',
  varsIgnorePattern: '^_',
  caughtErrorsIgnorePattern: '^_',
  destructuredArrayIgnorePattern: '^_',
  ignoreRestSiblings: true,
}

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'tmp/', '.wbc/', 'node_modules/']),
  {
    files: ['**/*.{js,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: {globals: nodeGlobals},
    rules: {
      'no-unused-vars': ['error', unusedVars],
    },
  },
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {
      parserOptions: {
        projectService: {allowDefaultProject: ['vitest.config.ts', 'vitest.chaos.config.ts']},
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', unusedVars],
      '@typescript-eslint/no-unused-expressions': 'error',
      // The terminal-output sanitizer and its tests match control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // Tests read parsed JSON output by path; typing every probe would say nothing a failing
    // assertion does not.
    files: ['test/**/*.{ts,tsx}'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['**/*.tsx'],
    plugins: {'react-hooks': reactHooks},
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
    },
  },
)
