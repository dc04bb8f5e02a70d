// The main thread's HTTP apps: the AdminServer (admin.*), which also carries the live status
// page, and the Prometheus exporter (metricsProvider.*). Each is an HttpApp (src/http) on its
// own port. A port that cannot be bound is logged and the server goes on without that face, as
// ZooKeeper does when its AdminServer cannot start ("Problem starting AdminServer").

import { createHttpApp, type HttpApp, type HttpEngineChoice } from '../../http/app.js';
import type { Logger } from '../logger.js';

export interface StartedHttpApp {
  readonly app: HttpApp;
  readonly port: number;
}

/** An app on the chosen engine, listening on host:port; null (logged) when it cannot listen. */
export async function startMainHttpApp(o: {
  what: 'AdminServer' | 'metrics';
  engine: HttpEngineChoice;
  host: string;
  port: number;
  logger: Logger;
  /** Routes to mount before it listens. */
  mount: (app: HttpApp) => void;
}): Promise<StartedHttpApp | null> {
  let created: Awaited<ReturnType<typeof createHttpApp>>;
  try {
    created = await createHttpApp(o.engine, o.logger);
  } catch (e) {
    o.logger.error({ err: e, what: o.what }, `cannot start the ${o.what}: no HTTP engine`);
    return null;
  }
  o.mount(created.app);
  try {
    const port = await created.app.listen({ host: o.host, port: o.port });
    o.logger.info({ what: o.what, engine: created.app.engine, reason: created.reason, host: o.host, port }, `${o.what} listening`);
    return { app: created.app, port };
  } catch (e) {
    await created.app.close();
    o.logger.warn({ err: e, what: o.what, host: o.host, port: o.port }, `Problem starting ${o.what}: ${(e as Error).message}`);
    return null;
  }
}
