// Why a drive refused a request: its image is read-only, or inactive because a migration owns it.

export type DriveRefusal = 'read-only' | 'inactive';

export class DriveError extends Error {
  constructor(
    readonly drive: string,
    readonly refusal: DriveRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'DriveError';
  }
}
