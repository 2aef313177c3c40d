import { describe, expect, it } from 'vitest';
import { MigrationCancelledError } from '../errors.js';
import { MigrationStateMachine, type MigrationStatus } from '../status.js';
import { CancelWatch } from './cancel.js';
import { CancelRequested } from './failure.js';
import type { ByteSink } from './interfaces.js';

function sink() {
  const destroyed: (Error | undefined)[] = [];
  const s: ByteSink = { write: async () => {}, end: async () => {}, destroy: (err) => void destroyed.push(err) };
  return { s, destroyed };
}

function watch(status: MigrationStatus, signal?: AbortSignal) {
  const state = new MigrationStateMachine(status);
  const { s, destroyed } = sink();
  const w = new CancelWatch(state, s, signal);
  return { state, w, destroyed };
}

describe('CancelWatch', () => {
  it('an abort while active moves the state to cancelling at once and shuts the sink, once', () => {
    const ac = new AbortController();
    const { state, w, destroyed } = watch('active', ac.signal);
    expect(w.requested).toBe(false);
    expect(() => w.check()).not.toThrow();
    ac.abort();
    expect(state.status).toBe('cancelling');
    expect(destroyed).toHaveLength(1);
    expect(destroyed[0]).toBeInstanceOf(MigrationCancelledError);
    expect(w.requested).toBe(true);
    expect(() => w.check()).toThrow(CancelRequested);
    w.shutSink();
    expect(destroyed).toHaveLength(1);
  });

  it('a signal aborted before the run cancels at once (setup → cancelling)', () => {
    const ac = new AbortController();
    ac.abort();
    const { state, destroyed } = watch('setup', ac.signal);
    expect(state.status).toBe('cancelling');
    expect(destroyed).toHaveLength(1);
  });

  it("anyone moving the state to 'cancelling' cancels, without a signal", () => {
    const { state, w, destroyed } = watch('active');
    state.transition('active', 'cancelling');
    expect(w.requested).toBe(true);
    expect(destroyed).toHaveLength(1);
  });

  it('an abort in another state only shuts the sink', () => {
    const ac = new AbortController();
    const { state, destroyed } = watch('completed', ac.signal);
    ac.abort();
    expect(state.status).toBe('completed');
    expect(destroyed).toHaveLength(1);
  });

  it('after detach() neither the signal nor the state touch the sink', () => {
    const ac = new AbortController();
    const { state, w, destroyed } = watch('active', ac.signal);
    w.detach();
    ac.abort();
    expect(state.status).toBe('active');
    state.transition('active', 'cancelling');
    expect(destroyed).toEqual([]);
    w.detach(); // twice is harmless
  });
});
