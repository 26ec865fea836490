import { Clock } from '../../src/clock/clock';

/** The injected clock (design invariant 6): starts at the real time and moves only when told. */
export class FakeClock extends Clock {
  private current: number;

  constructor(start: Date = new Date()) {
    super();
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): Date {
    this.current += ms;
    return this.now();
  }
}
