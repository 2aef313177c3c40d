import { describe, expect, it } from 'vitest';
import { defaultParameters } from '../params.js';
import { AutoConverge, dirtyBytesThreshold, throttleGuestDown, type ThrottleParameters } from './auto-converge.js';

const params = (p: Partial<ThrottleParameters> = {}): ThrottleParameters => ({ ...defaultParameters(), ...p });
const HIGH = [2_000_000, 1_000_000] as const; // dirtied 2 MB while 1 MB went out: above the default 50 %
const LOW = [400_000, 1_000_000] as const;

describe('dirtyBytesThreshold', () => {
  it('is throttle-trigger-threshold % of the bytes sent, in whole bytes', () => {
    expect(dirtyBytesThreshold(1_000_000, 50)).toBe(500_000);
    expect(dirtyBytesThreshold(1001, 50)).toBe(500);
    expect(dirtyBytesThreshold(0, 50)).toBe(0);
  });
});

describe('throttleGuestDown (mig_throttle_guest_down)', () => {
  it('starts at cpu-throttle-initial, then adds cpu-throttle-increment up to max-cpu-throttle', () => {
    const p = params({ 'cpu-throttle-initial': 20, 'cpu-throttle-increment': 10, 'max-cpu-throttle': 45 });
    const steps = [0];
    for (let i = 0; i < 5; i++) steps.push(throttleGuestDown(steps.at(-1)!, 2e6, 1e6, p));
    expect(steps).toEqual([0, 20, 30, 40, 45, 45]);
  });

  it('with cpu-throttle-tailslow adds only what brings the dirty rate to the threshold, at most the increment', () => {
    const p = params({ 'cpu-throttle-tailslow': true, 'cpu-throttle-increment': 10 });
    // guest has 80 % now; dirtied 2× the threshold → ideal 40 %: 40 points wanted, capped at 10
    expect(throttleGuestDown(20, 2_000_000, 1_000_000, p)).toBe(30);
    // dirtied 1.25× → ideal 64 %: 16 wanted, capped at 10
    expect(throttleGuestDown(20, 1_250_000, 1_000_000, p)).toBe(30);
    // dirtied 1.1× → ideal floor(72.72) = 72 %: 8 points
    expect(throttleGuestDown(20, 1_100_000, 1_000_000, p)).toBe(28);
    // just above the threshold → ideal floor(79.5) = 79 %: one point (whole percent as QEMU's integers)
    expect(throttleGuestDown(20, 160, 159, p)).toBe(21);
  });

  it('tailslow still starts at cpu-throttle-initial and honours max-cpu-throttle', () => {
    const p = params({ 'cpu-throttle-tailslow': true, 'cpu-throttle-initial': 30, 'max-cpu-throttle': 33 });
    expect(throttleGuestDown(0, 1_100_000, 1_000_000, p)).toBe(30);
    expect(throttleGuestDown(30, 2_000_000, 1_000_000, p)).toBe(33);
  });
});

describe('AutoConverge (migration_trigger_throttle)', () => {
  function unit(enabled = true) {
    const applied: number[] = [];
    const ac = new AutoConverge(enabled, (p) => applied.push(p));
    return { ac, applied };
  }

  it('throttles on the second period that dirtied too fast, then on every second one after', () => {
    const { ac, applied } = unit();
    ac.periodEnded(...HIGH, params());
    expect(applied).toEqual([]);
    expect(ac.percent).toBe(0);
    ac.periodEnded(...HIGH, params());
    expect(applied).toEqual([20]);
    ac.periodEnded(...HIGH, params());
    expect(applied).toEqual([20]); // the count started over
    ac.periodEnded(...HIGH, params());
    expect(applied).toEqual([20, 30]);
    expect(ac.percent).toBe(30);
  });

  it('a calm period does not reset the count (as QEMU: it only counts the high ones)', () => {
    const { ac, applied } = unit();
    ac.periodEnded(...HIGH, params());
    ac.periodEnded(...LOW, params());
    ac.periodEnded(...LOW, params());
    expect(applied).toEqual([]);
    ac.periodEnded(...HIGH, params());
    expect(applied).toEqual([20]);
  });

  it('dirtying exactly the threshold is not too fast', () => {
    const { ac, applied } = unit();
    for (let i = 0; i < 4; i++) ac.periodEnded(500_000, 1_000_000, params());
    expect(applied).toEqual([]);
    ac.periodEnded(500_001, 1_000_000, params());
    ac.periodEnded(500_001, 1_000_000, params());
    expect(applied).toEqual([20]);
  });

  it('reads the parameters at each period (migrate-set-parameters applies live)', () => {
    const { ac, applied } = unit();
    for (let i = 0; i < 2; i++) ac.periodEnded(...HIGH, params({ 'cpu-throttle-initial': 35 }));
    for (let i = 0; i < 2; i++) ac.periodEnded(...HIGH, params({ 'cpu-throttle-increment': 40, 'max-cpu-throttle': 99 }));
    for (let i = 0; i < 2; i++) ac.periodEnded(...HIGH, params({ 'cpu-throttle-increment': 40, 'max-cpu-throttle': 80 }));
    expect(applied).toEqual([35, 75, 80]);
    // a higher trigger threshold: 2 MB dirtied against 1 MB sent is no longer too fast at 250 %
    for (let i = 0; i < 4; i++) ac.periodEnded(...HIGH, params({ 'throttle-trigger-threshold': 250, 'max-cpu-throttle': 99 }));
    expect(applied).toEqual([35, 75, 80]);
    for (let i = 0; i < 2; i++) ac.periodEnded(...HIGH, params({ 'max-cpu-throttle': 99 }));
    expect(applied).toEqual([35, 75, 80, 90]);
  });

  it('does not call apply again once at max-cpu-throttle', () => {
    const { ac, applied } = unit();
    for (let i = 0; i < 40; i++) ac.periodEnded(...HIGH, params({ 'max-cpu-throttle': 40 }));
    expect(applied).toEqual([20, 30, 40]);
  });

  it('off: never throttles', () => {
    const { ac, applied } = unit(false);
    for (let i = 0; i < 10; i++) ac.periodEnded(...HIGH, params());
    expect(applied).toEqual([]);
  });

  it('stop() returns the guest to 0 once, and only if it was throttled', () => {
    const idle = unit();
    idle.ac.stop();
    expect(idle.applied).toEqual([]);
    const { ac, applied } = unit();
    ac.periodEnded(...HIGH, params());
    ac.periodEnded(...HIGH, params());
    ac.stop();
    ac.stop();
    expect(applied).toEqual([20, 0]);
    expect(ac.percent).toBe(0);
  });

  it('what apply throws comes out of periodEnded (the loop fails the migration), but not out of stop()', () => {
    const calls: number[] = [];
    const ac = new AutoConverge(true, (p) => {
      calls.push(p);
      throw new Error('no throttle');
    });
    ac.periodEnded(...HIGH, params());
    expect(() => ac.periodEnded(...HIGH, params())).toThrow('no throttle');
    expect(ac.percent).toBe(20); // it was asked for: stop() still undoes it
    expect(() => ac.stop()).not.toThrow();
    expect(calls).toEqual([20, 0]);
  });
});
