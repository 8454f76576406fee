// A minimal websocket client over a raw TCP socket, for the load driver: no event emitters, no
// per-frame allocations beyond what the payload needs, so that the driver costs the server
// under test as little CPU as possible.
//
// - Client frames are masked (RFC 6455 requires it) with the all-zero key: the XOR is then a
//   no-op, so the payload is written unchanged. Servers do not (and must not) care which key.
// - Server frames arrive unmasked; fragmented messages are reassembled; a ping is answered with
//   a pong; a close frame is answered and the socket ended.
// - Text payloads are handed to `onText(buf)` as a Buffer view that is only valid during the
//   call (copy it to keep it).

import net from "node:net";

const KEY = "dGhlIHNhbXBsZSBub25jZQ=="; // any 16-byte base64 value; the reply is not checked

export class RawWs {
  /**
   * @param {number} port
   * @param {string} path e.g. `/socket.io/?EIO=4&transport=websocket&room=x`
   * @param {{onOpen?: () => void, onText: (buf: Buffer) => void, onClose?: (why: string) => void}} h
   */
  constructor(port, path, h) {
    this.h = h;
    this.open = false;
    this.closed = false;
    this.pending = null; // unparsed bytes
    this.frags = null; // fragments of a message in progress
    this.fragOp = 0;
    const sock = (this.sock = net.connect({ host: "127.0.0.1", port }));
    sock.setNoDelay(true);
    sock.on("connect", () => {
      sock.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    sock.on("data", (chunk) => this._data(chunk));
    sock.on("error", (e) => this._gone(`error: ${e.code ?? e.message}`));
    sock.on("close", () => this._gone("tcp closed"));
  }

  _gone(why) {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    this.h.onClose?.(why);
  }

  _data(chunk) {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let o = 0;
    if (!this.open) {
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buf.length > 16384) this.fail("oversized HTTP response");
        else this.pending = buf;
        return;
      }
      const head = buf.toString("latin1", 0, end);
      if (!/^HTTP\/1\.1 101 /.test(head)) {
        this.fail(`upgrade refused: ${head.split("\r\n")[0]}`);
        return;
      }
      this.open = true;
      o = end + 4;
      this.h.onOpen?.();
    }
    const n = buf.length;
    while (o + 2 <= n) {
      const b0 = buf[o];
      const b1 = buf[o + 1];
      let len = b1 & 127;
      let hdr = 2;
      if (len === 126) {
        if (o + 4 > n) break;
        len = buf.readUInt16BE(o + 2);
        hdr = 4;
      } else if (len === 127) {
        if (o + 10 > n) break;
        len = Number(buf.readBigUInt64BE(o + 2));
        hdr = 10;
      }
      const masked = (b1 & 128) !== 0;
      if (masked) hdr += 4;
      if (o + hdr + len > n) break;
      let payload = buf.subarray(o + hdr, o + hdr + len);
      if (masked) {
        const m = buf.subarray(o + hdr - 4, o + hdr);
        payload = Buffer.from(payload);
        for (let i = 0; i < payload.length; i++) payload[i] ^= m[i & 3];
      }
      o += hdr + len;
      const fin = (b0 & 128) !== 0;
      const op = b0 & 15;
      if (op === 1 || op === 2 || op === 0) {
        if (!fin) {
          if (op !== 0) this.fragOp = op;
          (this.frags ??= []).push(Buffer.from(payload));
          continue;
        }
        let whole = payload;
        let wop = op;
        if (op === 0) {
          this.frags.push(payload);
          whole = Buffer.concat(this.frags);
          wop = this.fragOp;
          this.frags = null;
        }
        if (wop === 1) this.h.onText(whole);
        else this.h.onBinary?.(whole);
      } else if (op === 9) {
        this._control(10, payload);
      } else if (op === 8) {
        this.closeCode = len >= 2 ? payload.readUInt16BE(0) : 1005;
        if (!this.closeSent) this._control(8, payload.subarray(0, 2));
        this.closeSent = true;
        this.sock.end();
        this._gone(`close frame ${this.closeCode}`);
        return;
      }
    }
    if (o < n) this.pending = buf.subarray(o);
  }

  _control(op, payload) {
    if (this.sock.destroyed) return;
    const f = Buffer.allocUnsafe(6 + payload.length);
    f[0] = 0x80 | op;
    f[1] = 0x80 | payload.length;
    f.writeUInt32BE(0, 2);
    payload.copy(f, 6);
    this.sock.write(f);
  }

  /** Sends one text frame. `str` must be ASCII (all the driver's frames are). */
  send(str) {
    if (!this.open) return false;
    const len = str.length;
    let hdr;
    let f;
    if (len < 126) {
      f = Buffer.allocUnsafe((hdr = 6) + len);
      f[1] = 0x80 | len;
    } else if (len < 65536) {
      f = Buffer.allocUnsafe((hdr = 8) + len);
      f[1] = 0x80 | 126;
      f.writeUInt16BE(len, 2);
    } else {
      f = Buffer.allocUnsafe((hdr = 14) + len);
      f[1] = 0x80 | 127;
      f.writeBigUInt64BE(BigInt(len), 2);
    }
    f[0] = 0x81;
    f.writeUInt32BE(0, hdr - 4); // the all-zero masking key
    f.latin1Write(str, hdr);
    this.sock.write(f);
    return true;
  }

  /** Orderly close: close frame, then end the TCP stream. */
  close(code = 1000) {
    if (this.closed || this.sock.destroyed) return;
    if (this.open && !this.closeSent) {
      const p = Buffer.allocUnsafe(2);
      p.writeUInt16BE(code, 0);
      this._control(8, p);
      this.closeSent = true;
    }
    this.sock.end();
    setTimeout(() => this.sock.destroy(), 2000).unref();
  }

  fail(why) {
    this.sock.destroy();
    this._gone(why);
  }
}
