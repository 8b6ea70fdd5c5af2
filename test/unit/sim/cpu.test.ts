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
