// One end of a migration as mig sees it: a QMP connection to mig-daemon or QEMU 7.2, and what it speaks.
import { QmpClient, QmpError, type CommandName, type MigrationInfo, type MigrationProgress } from '@mig/qmp';
import { CliError, EXIT } from './exit-codes.js';

export type EndpointRole = 'source' | 'target';

export class Endpoint {
  /** Whether it answers x-mig-query-progress (mig-daemon does, QEMU does not): learnt at the first try. */
  #hasProgress: boolean | undefined;

  private constructor(
    readonly role: EndpointRole,
    readonly address: string,
    readonly client: QmpClient,
    /** query-version's package, e.g. "mig 0.1.0" or "Debian 1:7.2+dfsg-7". */
    readonly product: string,
  ) {}

  static async connect(role: EndpointRole, address: string, timeoutMs = 5000): Promise<Endpoint> {
    let client: QmpClient;
    try {
      client = await QmpClient.connect(address, { timeoutMs });
    } catch (err) {
      throw new CliError(`cannot reach the ${role}'s QMP at ${address}: ${(err as Error).message}`, EXIT.unreachable);
    }
    const version = await client.execute('query-version').catch(() => undefined);
    const q = version?.qemu;
    const product = version ? `${version.package.trim() || 'QEMU'} (QEMU ${q!.major}.${q!.minor}.${q!.micro})` : 'unknown';
    return new Endpoint(role, address, client, product);
  }

  /** Runs a command; a QMP error becomes a CliError (exit 4) that says which end refused what. */
  async run(name: CommandName, args?: Record<string, unknown>): Promise<unknown> {
    try {
      return await this.client.execute(name as never, args as never);
    } catch (err) {
      if (err instanceof QmpError) throw new CliError(`the ${this.role} refused ${name}: ${err.desc}`, EXIT.refused);
      throw new CliError(`the ${this.role}'s QMP at ${this.address} failed during ${name}: ${(err as Error).message}`, EXIT.unreachable);
    }
  }

  async queryMigrate(): Promise<MigrationInfo> {
    return (await this.run('query-migrate')) as MigrationInfo;
  }

  /** mig-daemon's progress, or undefined where the command does not exist (QEMU). */
  async queryProgress(): Promise<MigrationProgress | undefined> {
    if (this.#hasProgress === false) return undefined;
    try {
      const p = await this.client.execute('x-mig-query-progress');
      this.#hasProgress = true;
      return p;
    } catch (err) {
      if (err instanceof QmpError && err.errorClass === 'CommandNotFound') {
        this.#hasProgress = false;
        return undefined;
      }
      throw err;
    }
  }

  async runState(): Promise<string> {
    return ((await this.run('query-status')) as { status: string }).status;
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => {});
  }
}
