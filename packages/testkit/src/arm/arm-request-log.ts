import type { ArmOperation } from './arm-faults.js';

/** One request the ARM emulator served (or refused). */
export interface ArmRequestRecord {
  readonly operation: ArmOperation;
  readonly method: string;
  /** Lower-cased resource id of the VM, scale set or identity addressed; absent for lists and operation polls. */
  readonly target: string | undefined;
  readonly status: number;
  /** Entries of `identity.userAssignedIdentities` in a PATCH body. */
  readonly identityCount: number;
}

/** Filter of `ArmEmulator.countRequests`. */
export interface ArmRequestFilter {
  readonly operation?: ArmOperation;
  /** Resource id (case-insensitive). */
  readonly target?: string;
  readonly status?: number;
}

/** The requests an ARM emulator served, oldest first. @internal */
export class ArmRequestLog {
  private readonly entries: ArmRequestRecord[] = [];

  add(record: ArmRequestRecord): void {
    this.entries.push(record);
  }

  list(): readonly ArmRequestRecord[] {
    return [...this.entries];
  }

  count(filter: ArmRequestFilter = {}): number {
    const target = filter.target?.toLowerCase();
    return this.entries.filter(
      (entry) =>
        (filter.operation === undefined || entry.operation === filter.operation) &&
        (target === undefined || entry.target === target) &&
        (filter.status === undefined || entry.status === filter.status),
    ).length;
  }

  clear(): void {
    this.entries.length = 0;
  }
}
