import { describe, expect, it } from 'vitest';
import { parseBacktesterArgs, serviceEndpointsFromEnv, USAGE, UsageError } from '../../backtester/config.ts';

describe('backtester command line', () => {
  it('defaults follow the host: bind tcp://*:5580, connect tcp://localhost:5581, sma engine, concurrency 1', () => {
    expect(parseBacktesterArgs([], {})).toEqual({ engine: { kind: 'sma' }, bind: 'tcp://*:5580', results: 'tcp://localhost:5581', delayMs: 0, concurrency: 1 });
  });

  it('the host environment moves the defaults: SWIMMY_ZMQ_HOST, SWIMMY_PORT_BACKTEST_REQ, SWIMMY_PORT_BACKTEST_RES', () => {
    expect(serviceEndpointsFromEnv({ SWIMMY_ZMQ_HOST: 'runtime.local', SWIMMY_PORT_BACKTEST_REQ: '6580', SWIMMY_PORT_BACKTEST_RES: '6581' })).toEqual({
      bind: 'tcp://*:6580',
      results: 'tcp://runtime.local:6581',
    });
  });

  it('flags override the environment', () => {
    const c = parseBacktesterArgs(['--engine', 'fail:Empty output', '--bind', 'tcp://127.0.0.1:0', '--results', 'tcp://127.0.0.1:9', '--delay-ms', '25', '--concurrency', '4', '--data-dir', '/d'], { SWIMMY_PORT_BACKTEST_REQ: 'bad' });
    expect(c).toEqual({ engine: { kind: 'fail', text: 'Empty output' }, bind: 'tcp://127.0.0.1:0', results: 'tcp://127.0.0.1:9', delayMs: 25, concurrency: 4, dataDir: '/d' });
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
