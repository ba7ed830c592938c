/** A growing byte buffer that encoders write into directly, without building strings. */
export class ByteOut {
  buf: Buffer;
  at = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(1024, capacity));
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(2 * this.buf.length, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  /** ASCII text (each code unit one byte). */
  ascii(text: string): void {
    this.ensure(text.length);
    this.at += this.buf.write(text, this.at, "latin1");
  }

  /**
   * Short bytes (`bytes[from, to)`), copied in a loop: for a few dozen bytes that beats a native
   * call (`Buffer#copy`, `Buffer#write`), whose fixed cost dominated the top hash's profile.
   */
  put(bytes: Buffer, from = 0, to = bytes.length): void {
    this.ensure(to - from);
    const buf = this.buf;
    let at = this.at;
    for (let i = from; i < to; i++) buf[at++] = bytes[i] as number;
    this.at = at;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}
