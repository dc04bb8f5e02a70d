// One WebSocket, as the routes see it, whichever engine carries it (src/http/app.ts).

export interface WsSocket {
  /** The peer's IP (IPv4-mapped IPv6 as plain IPv4). */
  readonly remoteAddress: string;
  /** The peer's port, or 0 when the engine does not say. */
  readonly remotePort: number;
  /** Queue a message. false: it was queued behind backpressure; `drain` follows. Sending on a
   *  closed socket does nothing and returns false. */
  send(data: Uint8Array | string, binary: boolean): boolean;
  /** Bytes queued and not yet written to the socket. */
  bufferedBytes(): number;
  /** A clean close: a close frame with `code` and `reason`, then the socket ends. */
  end(code: number, reason: string): void;
  /** Drop the connection at once, without a close frame. */
  terminate(): void;
  /** Run `fn` with the socket's writes batched into one (uws); a plain call elsewhere. */
  cork(fn: () => void): void;
  /** Whether it is still open (false once close was seen or asked for). */
  readonly isOpen: boolean;
}
