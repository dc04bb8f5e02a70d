// `zkts <command>`: the command-line entry (bin/zkts.js imports this).

import { ConfigError, loadConfig, type ServerConfig } from './config.js';
import { exitWithLauncher, hasReusePort, inheritedListenFds, launch } from './launcher.js';
import { startServer, type ListenPlan } from './server.js';

const usage = `usage: zkts <command> [args]

commands:
  server [zoo.cfg]   start a server (no file: standalone on 127.0.0.1:2181, data under ./data)
  help               this text
`;

export async function main(argv: string[]): Promise<void> {
  const [command = 'help', ...rest] = argv;
  switch (command) {
    case 'server':
      await serverCommand(rest[0] ?? null);
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
  const inherited = inheritedListenFds();
  let plan: ListenPlan;
  if (inherited !== null) {
    exitWithLauncher();
    plan = { mode: 'fd', fds: inherited };
  } else if (hasReusePort()) {
    plan = { mode: 'reusePort' };
  } else {
    await launch(cfg, process.argv.slice(1));
    return;
  }
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
