import { describe, expect, it } from 'vitest';
import { endpointsFromEnv } from '../../transport/endpoints.ts';

describe('endpointsFromEnv', () => {
  // Rule: the result socket binds loopback by default (the host's service connects to localhost); every interface only when asked.
  it("defaults to the host's ports: requests to localhost:5580, results bound on 127.0.0.1:5581", () => {
    expect(endpointsFromEnv({})).toEqual({ requests: 'tcp://localhost:5580', results: 'tcp://127.0.0.1:5581' });
  });

  it('follows SWIMMY_ZMQ_HOST and the port variables, and binds every interface only when asked', () => {
    const env = { SWIMMY_ZMQ_HOST: '10.0.0.5', SWIMMY_PORT_BACKTEST_REQ: '6000', SWIMMY_PORT_BACKTEST_RES: '6001' };
    expect(endpointsFromEnv(env)).toEqual({ requests: 'tcp://10.0.0.5:6000', results: 'tcp://127.0.0.1:6001' });
    expect(endpointsFromEnv(env, { loopbackOnly: false })).toEqual({ requests: 'tcp://10.0.0.5:6000', results: 'tcp://*:6001' });
  });

  it('refuses a port that is not a TCP port, naming the variable', () => {
    expect(() => endpointsFromEnv({ SWIMMY_PORT_BACKTEST_REQ: '70000' })).toThrow("SWIMMY_PORT_BACKTEST_REQ must be a TCP port (1-65535), got '70000'");
    expect(() => endpointsFromEnv({ SWIMMY_PORT_BACKTEST_RES: 'abc' })).toThrow(/SWIMMY_PORT_BACKTEST_RES/);
  });
});
