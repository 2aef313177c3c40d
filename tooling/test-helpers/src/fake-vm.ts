// A stand-in Vm for unit tests of helpers that only talk QMP: it records each command and answers from a table.
import type { DriveSpec, Vm, VmKind } from './vm.js';

export interface FakeVm {
  vm: Vm;
  calls: Array<{ name: string; args: unknown }>;
}

export function fakeVm(kind: VmKind, drives: DriveSpec[] = [], answers: Record<string, unknown> = {}): FakeVm {
  const calls: FakeVm['calls'] = [];
  const qmp = {
    execute(name: string, args?: unknown): Promise<unknown> {
      calls.push({ name, args });
      return Promise.resolve(answers[name] ?? {});
    },
  };
  const vm = { kind, drives, qmp, stdout: '', stderr: '', dir: '/nonexistent' } as unknown as Vm;
  return { vm, calls };
}
