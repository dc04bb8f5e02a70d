// The client's WebSocket transport (zkts servers with webSocketPort; src/workers/ws-transport.ts):
// one binary message per jute frame, the frame WITHOUT its 4-byte length word. The connection
// writes length-prefixed frames as it does on TCP; write() sends each as one message, and each
// message received is handed on as one whole frame. The `ws` package (Node 20 has no global
// WebSocket) is loaded at the first ws:// host, so a TCP-only client never loads it.

import { createRequire } from 'node:module';
import type * as wsTypes from 'ws';

const require = createRequire(import.meta.url);
let wsModule: typeof wsTypes | null = null;

export interface WsClientHandlers {
  open(): void;
  /** One whole frame (the message). */
  message(frame: Buffer): void;
  /** The server sent something that is not a binary message. */
  bad(reason: string): void;
  error(err: Error): void;
  close(): void;
}

export class WsClientSocket {
  readonly #ws: wsTypes.WebSocket;

  constructor(
    url: string,
    options: { readonly frameBytesMax: number; readonly localAddress: string | undefined },
    h: WsClientHandlers,
  ) {
    wsModule ??= require('ws') as typeof wsTypes;
    const wsOptions: wsTypes.ClientOptions = { maxPayload: options.frameBytesMax, perMessageDeflate: false };
    if (options.localAddress !== undefined) wsOptions.localAddress = options.localAddress;
    const ws = new wsModule.WebSocket(url, wsOptions);
    this.#ws = ws;
    ws.on('open', () => {
      (ws as unknown as { _socket?: { setNoDelay?(v: boolean): void } })._socket?.setNoDelay?.(true);
      h.open();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) h.message(data);
      else h.bad('a text WebSocket message');
    });
    ws.on('error', (e: Error) => h.error(e));
    ws.on('close', () => h.close());
  }

  /** The local address of the TCP connection under the WebSocket (diagnostics). */
  get localAddress(): string | undefined {
    return (this.#ws as unknown as { _socket?: { localAddress?: string } })._socket?.localAddress;
  }

  /** Whole length-prefixed frames, one or several: each goes out as one message. */
  write(chunk: Buffer): boolean {
    if (this.#ws.readyState !== 1) return false;
    for (let pos = 0; pos < chunk.length; ) {
      const len = chunk.readInt32BE(pos);
      this.#ws.send(chunk.subarray(pos + 4, pos + 4 + len), { binary: true, compress: false });
      pos += 4 + len;
    }
    return true;
  }

  destroy(): void {
    this.#ws.terminate();
  }
}
