import { createServer, IncomingMessage } from 'node:http';

export interface Received {
  path: string;
  body: string;
  at: number;
}

/** A local HTTP receiver for webhooks and pings: records every request, answers `status`. */
export async function startReceiver() {
  const received: Received[] = [];
  const state = { status: 200 };
  const server = createServer(async (request: IncomingMessage, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    received.push({ path: request.url ?? '', body, at: Date.now() });
    response.writeHead(state.status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    answer: (status: number) => (state.status = status),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
