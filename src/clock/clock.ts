/**
 * The time, injected (design invariant 6): retention, expiry and signatures are
 * tested by moving a clock, never by sleeping.
 */
export abstract class Clock {
  abstract now(): Date;
}

export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}
