// Four-letter words (org.apache.zookeeper.server.command.FourLetterCommands): a connection whose
// first four bytes spell a known command gets a text answer and is closed. The worker answers
// `ruok` and the whitelist refusal itself; every other word is the main thread's (it holds the
// server-wide state), asked through parentPort.

/** FourLetterCommands.cmd2String (3.8). */
export const fourLetterWords = [
  'conf', 'cons', 'crst', 'dirs', 'dump', 'envi', 'gtmk', 'ruok', 'stmk', 'srst', 'srvr', 'stat',
  'wchc', 'wchp', 'wchs', 'mntr', 'isro', 'icfg', 'sysp',
] as const;

/** The control sequence telnet sends when it closes: ZooKeeper knows it to keep logs clean. */
export const telnetCloseCode = 0xfff4fffd | 0;
export const telnetClose = 'telnet close';

function code(word: string): number {
  return Buffer.from(word, 'latin1').readInt32BE(0);
}

const byCode = new Map<number, string>(fourLetterWords.map((w) => [code(w), w]));
byCode.set(telnetCloseCode, telnetClose);

/** The word whose 4 bytes read as `lengthWord`, or undefined when it is a real frame length. */
export function fourLetterWordOf(lengthWord: number): string | undefined {
  return byCode.get(lengthWord);
}

export class FourLetterWhitelist {
  readonly #enabled: Set<string>;
  constructor(list: readonly string[]) {
    const enabled = new Set<string>();
    for (const raw of list) {
      const w = raw.trim();
      if (w === '*') {
        for (const k of fourLetterWords) enabled.add(k);
        break;
      }
      if (w !== '') enabled.add(w);
    }
    // FourLetterCommands.isEnabled: "zkServer.sh depends on srvr".
    enabled.add('srvr');
    this.#enabled = enabled;
  }
  isEnabled(word: string): boolean {
    return this.#enabled.has(word);
  }
}

/** NopCommand's answer for a word off the whitelist (pw.println: a trailing newline). */
export function notWhitelistedText(word: string): string {
  return `${word} is not executed because it is not in the whitelist.\n`;
}
