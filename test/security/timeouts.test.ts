import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../support/service.js';

/**
 * Issue 14 item 6: connections are reaped. A client that trickles its headers or body, or keeps an
 * idle keep-alive socket, is cut off by the configured timeouts (real sockets, real server).
 */
let svc: RunningService;
let port: number;

beforeAll(async () => {
  svc = await startService({ HTTP_REQUEST_TIMEOUT_MS: '1200', HTTP_HEADERS_TIMEOUT_MS: '600', HTTP_KEEP_ALIVE_TIMEOUT_MS: '500' });
  port = Number(new URL(svc.baseUrl).port);
});
afterAll(async () => svc?.close());

/** Resolves with everything the server sent once it closes the connection. */
function untilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(received));
  });
}

function open(): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
  });
}

describe('connection timeouts', () => {
  it('closes a connection whose headers never finish', async () => {
    const socket = await open();
    const closed = untilClosed(socket);
    socket.write('POST /cds-services/spine-cds-patient-view HTTP/1.1\r\nHost: x\r\n');
    const received = await closed;
    // Node answers 408 when it can; either way the socket is gone.
    expect(received === '' || received.startsWith('HTTP/1.1 408')).toBe(true);
  });

  it('closes a connection whose body trickles in and never completes', async () => {
    const socket = await open();
    const closed = untilClosed(socket);
    socket.write('POST /cds-services/spine-cds-patient-view HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"hook":');
    // One byte now and then: the slowloris pattern that held sockets open for 360 s.
    const drip = setInterval(() => socket.writable && socket.write(' '), 200);
    try {
      const received = await closed;
      expect(received === '' || received.startsWith('HTTP/1.1 408')).toBe(true);
    } finally {
      clearInterval(drip);
    }
  });

  it('closes an idle keep-alive connection after a complete exchange', async () => {
    const socket = await open();
    const closed = untilClosed(socket);
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    const received = await closed;
    expect(received).toMatch(/^HTTP\/1.1 200/);
  });
});
