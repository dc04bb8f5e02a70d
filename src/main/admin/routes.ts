// The AdminServer's routes (JettyAdminServer.CommandServlet, 3.8), mounted on the main thread's
// admin HttpApp: GET <commandURL>/<name> runs a command and answers its JSON; GET <commandURL>
// (or <commandURL>/) lists the primary names as links, one per line, as Jetty's servlet prints
// them. As in ZooKeeper: an unknown name is a 200 whose "error" says so, HEAD is GET without the
// body, TRACE is forbidden (403), other methods are not allowed (405), other paths are 404.
// zkts's addition: a command off the 4lw whitelist answers 403 with the 4lw's refusal text.

import type { HttpApp, HttpReply, HttpRequest } from '../../http/app.js';
import type { Logger } from '../logger.js';
import {
  type AdminSources,
  adminCommand,
  type Fields,
  notServing,
  notWhitelisted,
  primaryNames,
  whitelistAllows,
} from './commands.js';
import { jacksonJson, type JsonValue } from './json.js';

export interface AdminRoutesOptions {
  /** admin.commandURL, normalised by config.ts (leading slash, no trailing one but for '/'). */
  readonly commandUrl: string;
  readonly sources: AdminSources;
  /** 4lw.commands.whitelist, as configured. */
  readonly whitelist: readonly string[];
  /** The server serves requests (standalone: always; an ensemble member: not while electing). */
  serving(): boolean;
  readonly logger: Logger;
}

const json = 'application/json';

/** CommandResponse.toMap: the fields, then "command" and "error", the fields again on top (so a
 *  command's own "error" field wins and stays first). */
export function commandResponse(command: string, fields: Fields, error: string | null): string {
  const m = new Map<string, JsonValue>(Object.entries(fields));
  m.set('command', command);
  m.set('error', error);
  for (const [k, v] of Object.entries(fields)) m.set(k, v);
  return jacksonJson(m);
}

/** The body of GET <commandURL>: a link to each command, each followed by a <br/> line. */
export function commandList(commandUrl: string): string {
  const base = commandUrl === '/' ? '' : commandUrl;
  return primaryNames()
    .map((name) => `<a href="${base}/${name}">${name}</a>\n<br/>\n`)
    .join('');
}

export function mountAdminCommands(app: HttpApp, o: AdminRoutesOptions): void {
  const base = o.commandUrl === '/' ? '' : o.commandUrl;
  const handler = (req: HttpRequest): Promise<HttpReply> | HttpReply => {
    if (req.method === 'TRACE') return { status: 403, body: '' };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      o.logger.debug({ method: req.method, path: req.path, remote: req.remoteAddress }, 'AdminServer: method not allowed');
      return { status: 405, body: `HTTP method ${req.method} is not supported by this URL\n`, headers: { allow: 'GET, HEAD' } };
    }
    const rest = req.path.slice(base.length);
    if (rest === '' || rest === '/') return { status: 200, body: commandList(o.commandUrl), contentType: 'text/html; charset=utf-8' };
    let name: string;
    try {
      name = decodeURIComponent(rest.slice(1));
    } catch {
      o.logger.warn({ path: req.path, remote: req.remoteAddress }, 'AdminServer: a command name that is not valid percent-encoding');
      return { status: 400, body: commandResponse(rest.slice(1), {}, 'Bad command name encoding'), contentType: json };
    }
    return run(o, name, req);
  };
  app.any(`${base}/*`, handler);
  if (base !== '') app.any(base, handler);
}

async function run(o: AdminRoutesOptions, name: string, req: HttpRequest): Promise<HttpReply> {
  const command = adminCommand(name);
  if (command === undefined) {
    o.logger.debug({ command: name, remote: req.remoteAddress }, 'AdminServer: unknown command');
    return { status: 200, body: commandResponse(name, {}, `Unknown command: ${name}`), contentType: json };
  }
  const primary = command.names[0]!;
  if (command.whitelistWord !== undefined && !whitelistAllows(o.whitelist, command.whitelistWord)) {
    o.logger.info({ command: name, word: command.whitelistWord, remote: req.remoteAddress }, 'AdminServer: command not in the 4lw whitelist');
    return { status: 403, body: commandResponse(primary, {}, notWhitelisted(name)), contentType: json };
  }
  if (command.serverRequired && !o.serving()) {
    return { status: 200, body: commandResponse(primary, {}, notServing), contentType: json };
  }
  const kwargs = new Map<string, string>();
  for (const [k, v] of req.query) if (!kwargs.has(k)) kwargs.set(k, v);
  o.logger.debug({ command: primary, remote: req.remoteAddress }, 'AdminServer: running a command');
  try {
    const fields = await command.run(o.sources, kwargs);
    return { status: 200, body: commandResponse(primary, fields, null), contentType: json };
  } catch (e) {
    o.logger.error({ err: e, command: primary }, 'AdminServer: command failed');
    return { status: 500, body: commandResponse(primary, {}, `Error processing ${primary}: ${(e as Error).message}`), contentType: json };
  }
}
