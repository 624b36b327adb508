import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseBacktesterArgs, serviceEndpointsFromEnv, USAGE, UsageError } from '../../backtester/config.ts';

describe('backtester command line', () => {
  it('defaults follow the host: bind tcp://*:5580, connect tcp://localhost:5581, sma engine, one worker per CPU up to 4', () => {
    expect(parseBacktesterArgs([], {}, 1)).toEqual({ engine: { kind: 'sma' }, bind: 'tcp://*:5580', results: 'tcp://localhost:5581', delayMs: 0, concurrency: 1, failFor: new Map() });
    expect(parseBacktesterArgs([], {})).toMatchObject({ concurrency: Math.min(4, availableParallelism()) });
  });

  it("its worker count is the host service's: SWIMMY_BACKTEST_WORKERS, else the CPU count capped at 4", () => {
    expect(parseBacktesterArgs([], {}, 2)).toMatchObject({ concurrency: 2 });
    expect(parseBacktesterArgs([], {}, 16)).toMatchObject({ concurrency: 4 });
    expect(parseBacktesterArgs([], { SWIMMY_BACKTEST_WORKERS: '6' }, 2)).toMatchObject({ concurrency: 6 });
    expect(parseBacktesterArgs(['--concurrency', '3'], { SWIMMY_BACKTEST_WORKERS: 'bad' }, 2)).toMatchObject({ concurrency: 3 });
    expect(() => parseBacktesterArgs([], { SWIMMY_BACKTEST_WORKERS: '0' })).toThrow(/SWIMMY_BACKTEST_WORKERS must be an integer >= 1/);
  });

  it('the host environment moves the defaults: SWIMMY_ZMQ_HOST, SWIMMY_PORT_BACKTEST_REQ, SWIMMY_PORT_BACKTEST_RES', () => {
    expect(serviceEndpointsFromEnv({ SWIMMY_ZMQ_HOST: 'runtime.local', SWIMMY_PORT_BACKTEST_REQ: '6580', SWIMMY_PORT_BACKTEST_RES: '6581' })).toEqual({
      bind: 'tcp://*:6580',
      results: 'tcp://runtime.local:6581',
    });
  });

  it('flags override the environment', () => {
    const c = parseBacktesterArgs(['--engine', 'fail:Empty output', '--bind', 'tcp://127.0.0.1:0', '--results', 'tcp://127.0.0.1:9', '--delay-ms', '25', '--concurrency', '4', '--data-dir', '/d'], { SWIMMY_PORT_BACKTEST_REQ: 'bad' });
    expect(c).toEqual({ engine: { kind: 'fail', text: 'Empty output' }, bind: 'tcp://127.0.0.1:0', results: 'tcp://127.0.0.1:9', delayMs: 25, concurrency: 4, dataDir: '/d', failFor: new Map() });
  });

  // Rule: CURVE is off unless asked; its three flags come together or the command line is refused.
  it('--curve-secret-key-file, --curve-client-key (repeatable) and --curve-server-key turn CURVE on together', () => {
    const on = parseBacktesterArgs(['--curve-secret-key-file', '/k/service.key', '--curve-client-key', 'A'.repeat(40), '--curve-client-key', 'B'.repeat(40), '--curve-server-key', 'C'.repeat(40)], {});
    expect(on).toMatchObject({ curve: { secretKeyFile: '/k/service.key', clientKeys: ['A'.repeat(40), 'B'.repeat(40)], serverKey: 'C'.repeat(40) } });
    expect(parseBacktesterArgs([], {})).not.toHaveProperty('curve');
    expect(() => parseBacktesterArgs(['--curve-secret-key-file', '/k/service.key'], {})).toThrow('CURVE needs --curve-secret-key-file, at least one --curve-client-key and --curve-server-key together');
  });

  it('--fail-for NAME=TEXT makes the service answer that strategy with an error (repeatable); a malformed one is a usage error', () => {
    expect(parseBacktesterArgs(['--fail-for', 'A-OOS=Guardian process failure', '--fail-for', 'B-OOS=No data available'], {})).toMatchObject({
      failFor: new Map([
        ['A-OOS', 'Guardian process failure'],
        ['B-OOS', 'No data available'],
      ]),
    });
    expect(() => parseBacktesterArgs(['--fail-for', 'A-OOS'], {})).toThrow(/--fail-for must be NAME=TEXT, got 'A-OOS'/);
    expect(() => parseBacktesterArgs(['--fail-for', '=x'], {})).toThrow(UsageError);
  });

  it('--help asks for the usage', () => {
    expect(parseBacktesterArgs(['--help'], {})).toBe('help');
    expect(parseBacktesterArgs(['-h'], {})).toBe('help');
    for (const flag of ['--engine echo|sma|fail:TEXT', '--bind', '--results', '--delay-ms', '--concurrency', '--data-dir', 'SWIMMY_PORT_BACKTEST_REQ', 'SWIMMY_ZMQ_HOST']) expect(USAGE).toContain(flag);
  });

  it('bad flags and values are usage errors', () => {
    expect(() => parseBacktesterArgs(['--engine', 'magic'], {})).toThrow(UsageError);
    expect(() => parseBacktesterArgs(['--engine', 'fail:'], {})).toThrow(UsageError);
    expect(() => parseBacktesterArgs(['--concurrency', '0'], {})).toThrow(UsageError);
    expect(() => parseBacktesterArgs(['--delay-ms', '-1'], {})).toThrow(UsageError);
    expect(() => parseBacktesterArgs(['--frobnicate'], {})).toThrow(UsageError);
  });

  it('a bad port in the environment is refused', () => {
    expect(() => parseBacktesterArgs([], { SWIMMY_PORT_BACKTEST_REQ: '70000' })).toThrow(RangeError);
  });
});
