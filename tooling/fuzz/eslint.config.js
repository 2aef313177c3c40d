export { default } from '@mig/eslint-config';
