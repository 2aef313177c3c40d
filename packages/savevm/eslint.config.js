import base from '@mig/eslint-config';

export default [
  ...base,
  {
    // Small functions, one concept each (the project's guide); tests are exempt.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }] },
  },
];
