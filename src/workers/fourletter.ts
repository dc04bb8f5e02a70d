// Four-letter words (org.apache.zookeeper.server.command.FourLetterCommands): a connection whose
// first four bytes spell a known command gets a text answer and is closed. The worker answers
// `ruok` and the whitelist refusal itself; every other word is the main thread's (it holds the
// server-wide state), asked through parentPort.

import type { WorkerToMainMessage } from '../shm/admin.js';
import { Pause } from './conn.js';
import type { ClientConn } from './connections/client-conn.js';
import type { Output } from './connections/output.js';
import type { WorkerLog } from './log.js';

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

export interface FourLetterAnswersOptions {
  whitelist: readonly string[];
  workerIndex: number;
  log: WorkerLog;
  output: Output;
  /** postMessage to the main thread, which answers every word but `ruok`. */
  post(message: WorkerToMainMessage): void;
}

/** The words asked on this worker's connections, and the answers the main thread owes them. */
export class FourLetterAnswers {
  readonly #whitelist: FourLetterWhitelist;
  readonly #workerIndex: number;
  readonly #log: WorkerLog;
  readonly #output: Output;
  readonly #post: (message: WorkerToMainMessage) => void;
  readonly #waiting = new Map<number, ClientConn>();
  #seq = 0;

  constructor(options: FourLetterAnswersOptions) {
    this.#whitelist = new FourLetterWhitelist(options.whitelist);
    this.#workerIndex = options.workerIndex;
    this.#log = options.log;
    this.#output = options.output;
    this.#post = options.post;
  }

  /** The first 4 bytes of `conn` read as `code`: false when that is no word (a frame length). */
  onFourLetter(conn: ClientConn, code: number): boolean {
    const word = fourLetterWordOf(code);
    if (word === undefined) return false;
    conn.pause(Pause.fourLetter);
    if (word === telnetClose) {
      conn.close();
      return true;
    }
    if (!this.#whitelist.isEnabled(word)) {
      const msg = `Command ${word} is not executed because it is not in the whitelist.`;
      this.#log.debug({ remote: conn.remote, word }, msg);
      this.#answer(conn, notWhitelistedText(word));
      return true;
    }
    const msg = `Processing ${word} command from /${conn.remote}`;
    this.#log.info({ remote: conn.remote, word }, msg);
    if (word === 'ruok') {
      this.#answer(conn, 'imok');
      return true;
    }
    const reqId = ++this.#seq;
    conn.fourLetterReqId = reqId;
    this.#waiting.set(reqId, conn);
    const workerIndex = this.#workerIndex;
    this.#post({ type: 'fourLetter', workerIndex, word, reqId, remote: conn.remote });
    return true;
  }

  /** The main thread's answer to request `reqId`. */
  reply(reqId: number, text: string): void {
    const conn = this.#waiting.get(reqId);
    if (conn === undefined) return;
    this.#waiting.delete(reqId);
    conn.fourLetterReqId = 0;
    this.#answer(conn, text);
  }

  /** `conn` closed: an answer still due to it is dropped when it comes. */
  closed(conn: ClientConn): void {
    if (conn.fourLetterReqId !== 0) this.#waiting.delete(conn.fourLetterReqId);
  }

  #answer(conn: ClientConn, text: string): void {
    if (!conn.isOpen) return;
    this.#output.mark(conn).writeRaw(Buffer.from(text, 'utf8'));
    conn.closeAfterFlush();
    this.#output.scheduleTurn();
  }
}
