import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkAddress, classifyNetError, httpCheckUrl, httpProbe, statusPasses, tcpProbe } from '../../../src/provision/net-probe.ts';

describe('http and tcp checks from the controller', () => {
  it('goes to the first IPv4 address, else the first IPv6 one', () => {
    assert.equal(checkAddress(['fd00::5', '10.0.0.5', '10.0.0.6']), '10.0.0.5');
    assert.equal(checkAddress(['fd00::5']), 'fd00::5');
    assert.equal(checkAddress([]), undefined);
  });

  it('builds the URL from port, path and scheme, or takes the whole URL', () => {
    assert.deepEqual(httpCheckUrl({ port: 8080, path: '/healthz' }, ['10.0.0.5']), { url: 'http://10.0.0.5:8080/healthz' });
    assert.deepEqual(httpCheckUrl({ port: 443, scheme: 'https' }, ['fd00::5']), { url: 'https://[fd00::5]:443/' });
    assert.deepEqual(httpCheckUrl({ url: 'https://app.example.com/up' }, []), { url: 'https://app.example.com/up' });
    assert.ok('unreachable' in httpCheckUrl({ port: 80 }, []));
  });

  it('passes a status in the expected range (default 200-399)', () => {
    assert.deepEqual([200, 302, 399, 400, 503].map((s) => statusPasses(s)), [true, true, true, false, false]);
    assert.deepEqual([203, 204, 205].map((s) => statusPasses(s, '204')), [false, true, false]);
    assert.deepEqual([199, 200, 299, 300].map((s) => statusPasses(s, '200-299')), [false, true, true, false]);
  });

  it('tells "no way to the guest\'s network" from "the service does not answer"', () => {
    const err = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.5:80`), { code });
    assert.deepEqual(['ENETUNREACH', 'EHOSTUNREACH', 'ENOTFOUND'].map((c) => classifyNetError(err(c)).kind), ['unreachable', 'unreachable', 'unreachable']);
    assert.deepEqual(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'].map((c) => classifyNetError(err(c)).kind), ['failed', 'failed', 'failed']);
  });

  it('probes a real local server: status, refused port, open port', async () => {
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/ok' ? 200 : 500;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      assert.deepEqual(await httpProbe(`http://127.0.0.1:${port}/ok`, undefined, 2_000), { kind: 'ok' });
      assert.deepEqual(await httpProbe(`http://127.0.0.1:${port}/bad`, undefined, 2_000), { kind: 'failed', output: `GET http://127.0.0.1:${port}/bad: HTTP 500, expected 200-399` });
      assert.deepEqual(await tcpProbe('127.0.0.1', port, 2_000), { kind: 'ok' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const refused = (await tcpProbe('127.0.0.1', port, 2_000)) as { kind: string; output?: string };
    assert.equal(refused.kind, 'failed');
    assert.match(refused.output ?? '', /ECONNREFUSED/);
  });
});
