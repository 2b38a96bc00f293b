import type { ReadAnswer } from './frames.ts';
import type { Table } from './profile.ts';

/** Why a read got no answer. Each is worth a retry; `desync` means the link was reset to recover. */
export type LinkFailure = 'timeout' | 'offline' | 'desync' | 'crc' | 'protocol';

export class ModbusLinkError extends Error {
  constructor(
    readonly failure: LinkFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ModbusLinkError';
  }
}

/**
 * One physical Modbus link: a TCP connection (possibly to a gateway with several unit ids behind it)
 * or a serial line. Lifecycle: start() opens it (a failure to connect is retried, not thrown),
 * read() any number of times (the Bus makes sure one at a time), stop() closes it.
 */
export interface ModbusTransport {
  readonly id: string;
  readonly connected: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** An answer (data or a Modbus exception), or a ModbusLinkError. */
  read(unitId: number, table: Table, start: number, count: number, timeoutMs: number): Promise<ReadAnswer>;
}
