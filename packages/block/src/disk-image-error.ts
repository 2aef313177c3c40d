// Errors that name the image (and, for refusals, the feature) so a failed migration says which disk and why.

export class DiskImageError extends Error {
  constructor(
    readonly image: string,
    detail: string,
  ) {
    super(`${image}: ${detail}`);
    this.name = 'DiskImageError';
  }
}

/** The image uses something this implementation does not do; `feature` is its short name. */
export class UnsupportedFeatureError extends DiskImageError {
  constructor(
    image: string,
    readonly feature: string,
    detail?: string,
  ) {
    super(image, `qcow2 feature not supported: ${feature}${detail === undefined ? '' : ` (${detail})`}`);
    this.name = 'UnsupportedFeatureError';
  }
}

/** The image's metadata contradicts the format: a bad offset, reserved bits, an impossible size. */
export class CorruptImageError extends DiskImageError {
  constructor(image: string, detail: string) {
    super(image, `corrupt image: ${detail}`);
    this.name = 'CorruptImageError';
  }
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
