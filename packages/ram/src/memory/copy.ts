// The copy helper lives with the stream bytes in @mig/savevm; re-exported here for RAM users.
export { copyBytes } from '@mig/savevm';
