// typescript-eslint's recommended rules over the whole tree (`make lint`; `make test` through test/lint).
// Not type-aware: the type check itself is `tsc -b` and `make typecheck-tests`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/dist-bench/**', '**/node_modules/**', 'deploy/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      // `_name` marks a value that is deliberately ignored (an argument an interface requires, a field left out of a copy).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  // The status page's script runs in the browser.
  { files: ['services/*/public/**/*.js'], languageOptions: { globals: globals.browser } },
  // Tests and test equipment read loosely typed JSON (HTTP bodies, broker messages) on purpose.
  { files: ['**/*.test.ts', '**/test/**/*.ts', 'packages/testkit/**', 'packages/stack/**'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' }, rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
