import base from '@mig/eslint-config';

export default [
  ...base,
  {
    // Small functions, one concept each (the project's guide); tests are exempt, and so are the XBZRLE
    // kernels, whose per-byte loops stay whole on purpose (one monomorphic loop is the hot path).
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/xbzrle/encode.ts', 'src/xbzrle/decode.ts', 'src/xbzrle/wasm-asm.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }] },
  },
];
