/**
 * A webhook receiver on 127.0.0.1 for the notifier's tests: it records every request and answers
 * each as the test's script says (a status with body and headers, or no answer at all until it
 * closes). A delivery counts as received when a 2xx answer was fully written; the alert id comes
 * from the Idempotency-Key header, so repeats of one alert are counted per id.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: unknown;
  readonly alertId: string | undefined;
}

export type Answer = { status: number; body?: string; headers?: Record<string, string> } | 'hang';

export class WebhookServer {
  readonly requests: Received[] = [];
  /** Completed 2xx answers per alert id. */
  readonly delivered = new Map<string, number>();
  private readonly held: http.ServerResponse[] = [];
  private readonly server: http.Server;
  private port = 0;

  constructor(private script: (r: Received, n: number) => Answer = () => ({ status: 204 })) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // kept as text
        }
        const alertId = req.headers['idempotency-key'] as string | undefined;
        const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, alertId };
        this.requests.push(r);
        const answer = this.script(r, this.requests.length);
        if (answer === 'hang') {
          this.held.push(res);
          return;
        }
        res.on('finish', () => {
          if (answer.status >= 200 && answer.status < 300 && alertId) this.delivered.set(alertId, (this.delivered.get(alertId) ?? 0) + 1);
        });
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body ?? '');
      });
    });
  }

  answer(script: (r: Received, n: number) => Answer): void {
    this.script = script;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async close(): Promise<void> {
    for (const res of this.held.splice(0)) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
