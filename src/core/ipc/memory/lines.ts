/**
 * Cuts a byte stream into newline-terminated lines. Each chunk is scanned once, from its own
 * start: an unfinished line is kept as the pieces that arrived and joined once, when its newline
 * comes (rescanning the whole buffer on every chunk is quadratic in the line's length).
 */
export class LineSplitter {
  private pieces: Buffer[] = []
  private pending = 0

  /** `maxLineBytes`: the longest line accepted, newline excluded. */
  constructor(private readonly maxLineBytes = Number.POSITIVE_INFINITY) {}

  /** Bytes of the line not finished yet. */
  get unfinishedBytes(): number {
    return this.pending
  }

  /**
   * The lines completed by `chunk` (empty ones included), or `tooLong` with the length reached as
   * soon as a line is longer than the limit, before its end has arrived.
   */
  push(chunk: Buffer): {lines: Buffer[]; tooLong?: undefined} | {lines: Buffer[]; tooLong: number} {
    const lines: Buffer[] = []
    let start = 0
    let newline: number
    while ((newline = chunk.indexOf(10, start)) >= 0) {
      const length = this.pending + newline - start
      if (length > this.maxLineBytes) return {lines, tooLong: length}
      const tail = chunk.subarray(start, newline)
      lines.push(this.pieces.length === 0 ? tail : Buffer.concat([...this.pieces, tail], length))
      this.pieces = []
      this.pending = 0
      start = newline + 1
    }
    if (start < chunk.length) {
      this.pending += chunk.length - start
      if (this.pending > this.maxLineBytes) return {lines, tooLong: this.pending}
      this.pieces.push(chunk.subarray(start))
    }
    return {lines}
  }
}
