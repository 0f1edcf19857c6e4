import http from 'node:http';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * Small real HTTP servers that misbehave the way EHR FHIR servers do in the field (hang, fail, answer
 * HTML). They listen on loopback and record what they were asked.
 */
export interface StubServer {
  baseUrl: string;
  requests: string[];
  maxInFlight: number;
  close(): Promise<void>;
}

export async function startStubServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>,
  host = '127.0.0.1',
): Promise<StubServer> {
  const state = { requests: [] as string[], inFlight: 0, maxInFlight: 0 };
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    state.requests.push(req.url ?? '');
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    res.on('close', () => state.inFlight--);
    void handler(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://${host}:${port}/fhir`,
    get requests() {
      return state.requests;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/fhir+json' });
  res.end(JSON.stringify(body));
}
