/**
 * The delivery pacer: at most `perTurn` deliveries per turn of the event loop, the streams
 * that ran out resumed in the order they waited, no stream starved. Turns here are real
 * setImmediate turns (their order is what is tested, not their time).
 */
import fc from 'fast-check';
import { DeliveryPacer, type Paced } from '../../src/server/delivery-pacer';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A stream that wants `demand` deliveries and takes them while the pacer lets it. */
class Wanting implements Paced {
  resumed = 0;
  constructor(
    readonly name: string,
    public demand: number,
    private readonly pacer: DeliveryPacer,
    private readonly log: string[],
  ) {}
  /** Starts, as a Dequeue stream does: in a later turn when this one's deliveries are made. */
  start(): void {
    if (this.pacer.spent()) this.pacer.wait(this);
    else this.run();
  }
  private run(): void {
    while (this.demand > 0) {
      this.demand--;
      this.log.push(this.name);
      if (!this.pacer.take()) {
        this.pacer.wait(this);
        return;
      }
    }
  }
  resume(): void {
    this.resumed++;
    this.run();
  }
}

test('take() says when the turn has had its deliveries; the next turn has a new budget', async () => {
  const pacer = new DeliveryPacer(3);
  expect([pacer.take(), pacer.take(), pacer.take()]).toEqual([true, true, false]);
  expect(pacer.take()).toBe(false);
  await nextTurn();
  expect([pacer.take(), pacer.take(), pacer.take()]).toEqual([true, true, false]);
});

test('waiting streams resume in the next turn in the order they waited; a forgotten one does not', async () => {
  const pacer = new DeliveryPacer(2);
  const log: string[] = [];
  const [a, b, c] = ['a', 'b', 'c'].map((n) => new Wanting(n, 1, pacer, log));
  pacer.take();
  pacer.take();
  pacer.wait(b);
  pacer.wait(a);
  pacer.wait(c);
  pacer.forget(c);
  expect(log).toEqual([]);
  await nextTurn();
  expect(log).toEqual(['b', 'a']);
  expect([a.resumed, b.resumed, c.resumed]).toEqual([1, 1, 0]);
});

test('streams resumed in a turn that spend its budget leave the rest waiting for the turn after; one paused again goes last', async () => {
  const pacer = new DeliveryPacer(4);
  const log: string[] = [];
  const streams = ['a', 'b', 'c', 'd'].map((n) => new Wanting(n, 3, pacer, log));
  for (const s of streams) s.start();
  expect(log.join('')).toBe('aaab'); // b took the turn's last delivery and waits; c and d start in a later turn
  await nextTurn();
  expect(log.join('')).toBe('aaab' + 'bbcc');
  expect(streams.map((s) => s.resumed)).toEqual([0, 1, 1, 0]);
  await nextTurn();
  expect(log.join('')).toBe('aaab' + 'bbcc' + 'dddc'); // c, paused again, went behind d, which had waited longer
  await nextTurn();
  expect(log).toHaveLength(12);
});

test('a budget below one delivery is refused', () => {
  expect(() => new DeliveryPacer(0)).toThrow(/positive integer/);
  expect(() => new DeliveryPacer(1.5)).toThrow(/positive integer/);
});

test('property: every demand is met, no turn makes more than the budget, and no turn is wasted', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 16 }), fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 12 }), async (perTurn, demands) => {
      const pacer = new DeliveryPacer(perTurn);
      const log: string[] = [];
      const streams = demands.map((d, i) => new Wanting(String(i), d, pacer, log));
      // Streams that come in a later turn too, like subscriptions arriving while others wait.
      const early = streams.slice(0, Math.ceil(streams.length / 2));
      const late = streams.slice(early.length);
      const perTurnMade: number[] = [];
      for (const s of early) s.start();
      perTurnMade.push(log.length);
      let turns = 0;
      while (streams.some((s) => s.demand > 0) && turns++ < 1000) {
        await nextTurn();
        if (turns === 1) for (const s of late) s.start();
        perTurnMade.push(log.length - perTurnMade.reduce((x, y) => x + y, 0));
      }
      const total = demands.reduce((x, y) => x + y, 0);
      expect(log).toHaveLength(total);
      for (const [i, d] of demands.entries()) expect(log.filter((n) => n === String(i))).toHaveLength(d);
      expect(Math.max(...perTurnMade)).toBeLessThanOrEqual(perTurn);
      // Every turn before the last used its whole budget, except the first two (the late streams joined in the second).
      const full = perTurnMade.slice(2, -1);
      expect(full.every((n) => n === perTurn)).toBe(true);
    }),
    { numRuns: 200 },
  );
});
