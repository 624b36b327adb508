import { describe, expect, it } from 'vitest';
import { oosConfig } from '../../oos/config.ts';

describe('oosConfig', () => {
  it('takes the sockets from the host environment, with the host defaults', () => {
    const c = oosConfig({ dbPath: 'x.db' }, {});
    expect([c.requestEndpoint, c.resultEndpoint]).toEqual(['tcp://localhost:5580', 'tcp://*:5581']);
    expect(c).toMatchObject({ synchronous: 'FULL', window: 16, leaseMs: 120_000, rankIntervalMs: 60_000, oosWindowDays: 180, oosRetryMs: 600_000 });
    expect(c.retry.maxAttempts).toBe(5);
  });

  it('binds the result socket on loopback only when asked', () => {
    const c = oosConfig({ dbPath: 'x.db', resultsLoopbackOnly: true }, { SWIMMY_PORT_BACKTEST_RES: '7001' });
    expect(c.resultEndpoint).toBe('tcp://127.0.0.1:7001');
  });

  it('lets explicit settings win over the environment', () => {
    const c = oosConfig({ dbPath: 'x.db', requestEndpoint: 'tcp://10.1.1.1:9', window: 256 }, { SWIMMY_ZMQ_HOST: 'other' });
    expect(c.requestEndpoint).toBe('tcp://10.1.1.1:9');
    expect(c.window).toBe(256);
  });
});
