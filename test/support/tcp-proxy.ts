import { createServer, connect, type Server, type Socket } from 'node:net';

/** A TCP proxy the test can cut and restore, to take a dependency away from a gateway. */
export interface TcpProxy {
  port: number;
  /** Closes the listener and every open connection: the dependency is gone. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const listen = async (): Promise<void> => {
    const listener = createServer((client) => {
      const upstream = connect(targetPort, targetHost);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => listener.listen(port, '127.0.0.1', resolve));
    port = (listener.address() as { port: number }).port;
    server = listener;
  };
  const cut = async (): Promise<void> => {
    const current = server;
    server = null;
    for (const s of sockets) s.destroy();
    sockets.clear();
    if (current) await new Promise((resolve) => current.close(resolve));
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}
