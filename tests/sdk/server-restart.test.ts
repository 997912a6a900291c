/**
 * The database going away and coming back, as a worker sees it through the network: the pool
 * connects through a TCP relay to the real test server, and the relay drops every socket
 * (the server restarting), refuses connections (the server down), comes back, or swallows an
 * answer after the server committed (the connection dying between the commit and its reply).
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConnectionLostError, createScrapeguard, RunAlreadyFinishedError } from '../../sdk/index.js';
import { sdkFixture, servicePool } from './support.js';

const f = await sdkFixture();

/** A TCP relay to the test server that can drop, refuse and swallow. */
class Relay {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  /** Answers of the server are not passed on while set. */
  swallow = false;

  constructor(private readonly target: { host: string; port: number }) {}

  async up(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => this.sockets.delete(s));
      }
      client.on('data', (d) => upstream.write(d));
      upstream.on('data', (d) => {
        if (!this.swallow) client.write(d);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Every open connection dies, as in a server restart. */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Connections are refused until up() again. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.dropAll();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const direct = new URL(f.db.appUrl);
const relay = new Relay({ host: direct.hostname, port: Number(direct.port) });
await relay.up();
const relayed = new URL(f.db.appUrl);
relayed.port = String(relay.port);
const pool = servicePool(relayed.toString(), 4);
const sg = createScrapeguard({ pool, logs: { intervalMs: 0 } });

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
beforeAll(() => {
  process.on('uncaughtException', onUnhandled);
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('uncaughtException', onUnhandled);
  process.off('unhandledRejection', onUnhandled);
  await sg.close();
  await pool.end();
  await relay.down();
});

const settle = () => new Promise((r) => setTimeout(r, 100));

describe('the server going away and coming back', () => {
  test('restart mid-transaction, refused while down, everything works again once it is back', async () => {
    const source = await f.createSource('Restarting Server');
    const run = await sg.runs.start({ sourceId: source, engine: 'api' });
    run.log.info('before');
    await run.flush();

    // A restart between two statements of a transaction.
    const lost = await run
      .transaction(async (tx) => {
        await tx.query(`insert into public.events (title, start_time) values ('Lost with the socket', now())`);
        relay.dropAll();
        await settle();
        await tx.query('select 1');
      })
      .catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(ConnectionLostError);
    expect(lost).toMatchObject({ mayHaveCommitted: false, retryable: true });

    // Down: every call is refused, typed; the log lines stay buffered.
    await relay.down();
    run.log.info('while down');
    await expect(run.flush()).rejects.toMatchObject({ name: 'ConnectionLostError', mayHaveCommitted: false });
    await expect(sg.breaker.acquire(source)).rejects.toBeInstanceOf(ConnectionLostError);
    await expect(run.transaction(async () => undefined)).rejects.toMatchObject({ name: 'ConnectionLostError', mayHaveCommitted: false });
    expect(run.pending).toBe(1);

    // Back: the same pool carries on.
    await relay.up();
    await run.flush();
    await run.transaction(async (tx) => {
      await tx.query(`insert into public.events (title, start_time) values ('After the restart', now())`);
    });
    expect(await sg.breaker.acquire(source)).toMatchObject({ allowed: true });
    const logs = await f.admin.query<{ message: string }>('select message from public.scraping_logs where run_id = $1 order by id', [run.id]);
    expect(logs.rows.map((r) => r.message)).toEqual(['before', 'while down']);
    const events = await f.admin.query<{ title: string }>(
      `select title from public.events where title in ('Lost with the socket', 'After the restart')`,
    );
    expect(events.rows).toEqual([{ title: 'After the restart' }]);
    await run.finish({ status: 'succeeded' });
    expect(unhandled).toEqual([]);
  });

  test('the answer of a commit lost with the connection: mayHaveCommitted, and it did', async () => {
    const source = await f.createSource('Lost Answer');
    const run = await sg.runs.start({ sourceId: source, engine: 'feed' });
    relay.swallow = true;
    const finishing = run.finish({ status: 'succeeded', eventsFound: 7 }).catch((e: unknown) => e);
    await expect
      .poll(async () => (await f.admin.query<{ status: string }>('select status from public.scraping_runs where id = $1', [run.id])).rows[0]?.status)
      .toBe('succeeded');
    relay.dropAll();
    relay.swallow = false;
    const err = await finishing;
    expect(err).toBeInstanceOf(ConnectionLostError);
    expect(err).toMatchObject({ mayHaveCommitted: true, retryable: true });
    // Repeating a write that may have committed: the database says it did.
    await expect(run.finish({ status: 'succeeded', eventsFound: 7 })).rejects.toBeInstanceOf(RunAlreadyFinishedError);
    expect(unhandled).toEqual([]);
  });
});
