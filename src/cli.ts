// `zkts <command>`: the command-line entry (bin/zkts.js imports this). It sits above the
// server (src/main) and the load harness (src/load), which never import each other.

import { setFlagsFromString } from 'node:v8';
import { ConfigError, loadConfig, type ServerConfig } from './main/config.js';
import { exitWithLauncher, hasReusePort, inheritedListenFds, launch } from './main/launcher.js';
import { youngGenerationGrowthFactorFixed } from './main/limits.js';
import type { ListenPlan } from './main/server.js';

const usage = `usage: zkts <command> [args]

commands:
  server [zoo.cfg]              start a server (no file: standalone on 127.0.0.1:2181, data
                                under ./data)
  log <file>                    print the transactions of a txn log file (version-2/log.*)
  snapshot <file>               print a snapshot file (version-2/snapshot.*)
  check <dataDir> [dataLogDir]  check a data directory for corruption; exit 0 when clean, 1
                                with problems recovery would repair, 2 when not recoverable
  ensemble [options]            a local ensemble on 127.0.0.1, one process per member
                                (zkts ensemble --help)
  load <scenario> [options]     the load-test harness (zkts load --help)
  help                          this text
`;

export async function main(argv: string[]): Promise<void> {
  const [command = 'help', ...rest] = argv;
  switch (command) {
    case 'server':
      await serverCommand(rest[0] ?? null);
      return;
    case 'ensemble': {
      const { ensembleCommand } = await import('./main/ensemble/cli.js');
      process.exitCode = await ensembleCommand(rest);
      return;
    }
    case 'load': {
      const { loadCommand } = await import('./load/cli.js');
      process.exitCode = await loadCommand(rest);
      return;
    }
    case 'log':
    case 'snapshot':
    case 'check':
      process.exitCode = await inspectCommand(command, rest);
      return;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return;
    default:
      process.stderr.write(`zkts: unknown command '${command}'\n${usage}`);
      process.exitCode = 2;
  }
}

async function serverCommand(configPath: string | null): Promise<void> {
  let cfg: ServerConfig;
  try {
    cfg = loadConfig(configPath);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`zkts: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  if (cfg.youngGenerationFixed) {
    // Process-wide, before the modules and workers that grow it: an idle observer's main thread
    // otherwise holds a young generation grown to ~8 MB at start (issue 11, goal 2).
    const fix = (): void => setFlagsFromString(`--semi-space-growth-factor=${youngGenerationGrowthFactorFixed}`);
    fix();
    // Starting a worker thread (a session worker, piscina's, pino's transport) sets V8's flags
    // back to the command line's, for every isolate of the process: without this the main
    // thread's young generation grew again once a session worker started (up to V8's bound,
    // 32 MB here).
    process.on('worker', (w) => w.once('online', fix));
  }
  const inherited = inheritedListenFds();
  let plan: ListenPlan;
  if (inherited !== null) {
    exitWithLauncher();
    plan = { mode: 'fd', fds: inherited.fds, secureFds: inherited.secureFds };
  } else if (hasReusePort() || cfg.sessionWorkers <= 1) {
    // Each worker binds its own socket. On Node 20 (no reusePort) that is right for one worker:
    // there is nothing to share, so no launcher process (a second Node runtime, ~44 MB RSS); with
    // sessionWorkers=0 the main thread binds it (server.ts).
    plan = { mode: 'reusePort' };
  } else {
    await launch(cfg, process.argv.slice(1));
    return;
  }
  // Imported here, not at the top: on Node 20 this process may be only the launcher, which
  // needs the config and a socket, and every member restart pays for what it loads.
  const { startServer } = await import('./main/server.js');
  const server = await startServer(cfg, plan);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, 'stopping');
    void server.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function inspectCommand(command: 'log' | 'snapshot' | 'check', args: string[]): Promise<number> {
  const { checkDataDir, formatLog, formatSnapshot } = await import('./main/storage/index.js');
  const [first, second] = args;
  if (first === undefined) {
    process.stderr.write(`zkts ${command}: missing argument\n${usage}`);
    return 2;
  }
  try {
    if (command === 'log') process.stdout.write(formatLog(first));
    else if (command === 'snapshot') process.stdout.write(formatSnapshot(first));
    else {
      const report = checkDataDir(first, second);
      process.stdout.write(report.text);
      return !report.recoverable ? 2 : report.problems.length > 0 ? 1 : 0;
    }
    return 0;
  } catch (e) {
    process.stderr.write(`zkts ${command}: ${(e as Error).message}\n`);
    return 2;
  }
}
