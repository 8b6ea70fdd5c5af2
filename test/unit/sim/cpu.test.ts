import { describe, expect, it } from 'vitest';
import { Cpu } from '../../../emulator/host/cpu.ts';
import { Scheduler } from '../../../emulator/sim/scheduler.ts';

function setup() {
  const sched = new Scheduler();
  const cpu = new Cpu(sched, 'cpu');
  let irq = false;
  cpu.hardwareIrqPending = () => irq;
  const log: string[] = [];
  return { sched, cpu, log, setIrq: (v: boolean) => ((irq = v), cpu.irqChanged()) };
}

describe('Cpu bursts', () => {
  it('a burst occupies the CPU for its charged cycles (40 ns each), local time advancing inside it', () => {
    const { sched, cpu, log } = setup();
    const seen: number[] = [];
    cpu.execute('k', () => {
      seen.push(cpu.localNow());
      cpu.charge(10);
      seen.push(cpu.localNow());
      cpu.charge(15);
    }, { onDone: () => log.push(`done@${sched.now}`) });
    sched.runFor(10_000);
    expect(seen).toEqual([0, 400]);
    expect(log).toEqual(['done@1000']);
    expect(cpu.cyclesByCategory.get('k')).toBe(25);
  });

  it('an interrupt during a burst runs at its time and pushes the rest of the burst later', () => {
    const { sched, cpu, log, setIrq } = setup();
    cpu.hardwareIrqHandler = () => {
      log.push(`irq@${cpu.localNow()}`);
      cpu.charge(50);
      setIrq(false);
    };
    const kick = sched.createEvent('device', 10, () => setIrq(true));
    sched.schedule(kick, 400);
    cpu.execute('user', () => cpu.charge(100), { onDone: () => log.push(`done@${sched.now}`) });
    sched.runFor(100_000);
    // 100 cycles = 4000 ns, pushed by the handler's 50 cycles = 2000 ns.
    expect(log).toEqual(['irq@400', 'done@6000']);
  });

  it('masked sections (splimp…splx): an interrupt due inside, or before one the body already ran, is taken at its end; after it, at its time', () => {
    const run = (irqAt: number) => {
      const { sched, cpu, log, setIrq } = setup();
      cpu.hardwareIrqHandler = () => {
        log.push(`irq@${sched.now}`);
        cpu.charge(50);
        setIrq(false);
      };
      sched.schedule(sched.createEvent('device', 10, () => setIrq(true)), irqAt);
      // 0..400 ns unmasked, 400..2400 masked, 2400..4000 unmasked.
      cpu.execute('user', () => {
        cpu.charge(10);
        cpu.splRaise();
        cpu.charge(25);
        cpu.splRaise(); // nests
        cpu.charge(25);
        cpu.splLower();
        cpu.splLower();
        cpu.charge(40);
      }, { onDone: () => log.push(`done@${sched.now}`) });
      sched.runFor(100_000);
      return { log, deferred: cpu.interruptsDeferredTotal };
    };
    expect(run(1000)).toEqual({ log: ['irq@2400', 'done@6000'], deferred: 1 });
    // Before the section, but the body's code has already run it: its end too (docs/kernel.md).
    expect(run(200)).toEqual({ log: ['irq@2400', 'done@6000'], deferred: 1 });
    expect(run(3000)).toEqual({ log: ['irq@3000', 'done@6000'], deferred: 0 });
  });

  it('a masked section open across a sync point: the interrupt waits for splLower in the later segment', () => {
    const { sched, cpu, log, setIrq } = setup();
    cpu.hardwareIrqHandler = () => {
      log.push(`irq@${sched.now}`);
      cpu.charge(10);
      setIrq(false);
    };
    sched.schedule(sched.createEvent('device', 10, () => setIrq(true)), 600);
    cpu.execute('user', function* () {
      cpu.charge(10);
      cpu.splRaise();
      cpu.charge(10);
      yield 'sync'; // suspended until 800 with the section open
      cpu.charge(30);
      cpu.splLower(); // 2000
      cpu.charge(10);
    }, { onDone: () => log.push(`done@${sched.now}`) });
    sched.runFor(100_000);
    expect(log).toEqual(['irq@2000', 'done@2800']);
  });

  it('a non-interruptible burst takes its interrupt at its end, before dispatch', () => {
    const { sched, cpu, log, setIrq } = setup();
    cpu.hardwareIrqHandler = () => {
      log.push(`irq@${sched.now}`);
      cpu.charge(10);
      setIrq(false);
    };
    cpu.dispatcher = () => log.push(`dispatch@${sched.now}`);
    sched.schedule(sched.createEvent('device', 10, () => setIrq(true)), 400);
    cpu.execute('spl', () => cpu.charge(100), { interruptible: false, onDone: () => log.push(`done@${sched.now}`) });
    sched.runFor(100_000);
    expect(log).toEqual(['done@4000', 'irq@4000', 'dispatch@4400']);
  });

  it('an interrupt on an idle CPU is a burst of its own; a level still asserted runs the handler again', () => {
    const { sched, cpu, log, setIrq } = setup();
    let remaining = 3;
    cpu.hardwareIrqHandler = () => {
      log.push(`irq@${sched.now}`);
      cpu.charge(25);
      if (--remaining === 0) setIrq(false);
    };
    sched.schedule(sched.createEvent('device', 10, () => setIrq(true)), 1000);
    sched.runFor(100_000);
    expect(log).toEqual(['irq@1000', 'irq@2000', 'irq@3000']);
  });

  it('soft interrupts (timer callouts) queue in order', () => {
    const { sched, cpu, log } = setup();
    cpu.postSoftInterrupt(() => {
      log.push(`a@${sched.now}`);
      cpu.charge(5);
    });
    cpu.postSoftInterrupt(() => log.push(`b@${sched.now}`));
    sched.runFor(10_000);
    expect(log).toEqual(['a@0', 'b@200']);
  });
});
