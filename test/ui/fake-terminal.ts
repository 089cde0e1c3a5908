// Test doubles for the UI: a string sink stream, and a fake TTY that replays cursor moves into screen lines.

/** Collects everything written; stands in for a non-TTY stdout or stderr. */
export class StringSink {
  text = '';
  write(chunk: string | Uint8Array, encodingOrCb?: unknown, cb?: unknown): boolean {
    this.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const done = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
    if (typeof done === 'function') (done as () => void)();
    return true;
  }
  get lines(): string[] {
    return this.text.split('\n').filter((line) => line.length > 0);
  }
  asStream(): NodeJS.WritableStream {
    return this as unknown as NodeJS.WritableStream;
  }
}

/**
 * A TTY as cli-progress sees it (`isTTY`, `columns`, the readline cursor methods) that also interprets
 * the escape sequences it receives, so a test can read the screen a user would see.
 */
export class FakeTerminal extends StringSink {
  readonly isTTY = true;
  columns = 120;
  rows = 40;
  private screen: string[] = [''];
  private row = 0;
  private col = 0;

  cursorTo(x: number, y?: number | (() => void), cb?: () => void): boolean {
    this.col = x;
    if (typeof y === 'number') this.row = y;
    const done = typeof y === 'function' ? y : cb;
    done?.();
    return true;
  }
  moveCursor(dx: number, dy: number, cb?: () => void): boolean {
    this.col = Math.max(0, this.col + dx);
    this.row = Math.max(0, this.row + dy);
    cb?.();
    return true;
  }
  clearLine(dir: number, cb?: () => void): boolean {
    this.clearInLine(dir);
    cb?.();
    return true;
  }
  clearScreenDown(cb?: () => void): boolean {
    this.clearDown();
    cb?.();
    return true;
  }

  override write(chunk: string | Uint8Array, encodingOrCb?: unknown, cb?: unknown): boolean {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    this.interpret(text);
    return super.write(chunk, encodingOrCb, cb);
  }

  /** The visible lines, colors stripped, trailing spaces and empty lines dropped. */
  get visible(): string[] {
    const lines = this.screen.map((line) => line.replace(/\s+$/, ''));
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines;
  }

  private interpret(text: string): void {
    let i = 0;
    while (i < text.length) {
      const ch = text[i]!;
      if (ch === '\x1B') {
        const csi = /^\x1B\[(\??)([0-9;]*)([A-Za-z])/.exec(text.slice(i));
        if (csi) {
          this.control(csi[3]!, csi[1] === '?' ? null : Number.parseInt(csi[2] || '', 10));
          i += csi[0].length;
        } else {
          i += 2; // ESC 7 / ESC 8: save and restore cursor, not used for layout here.
        }
      } else if (ch === '\n') {
        this.row += 1;
        this.col = 0;
        i += 1;
      } else if (ch === '\r') {
        this.col = 0;
        i += 1;
      } else {
        const line = this.line().padEnd(this.col);
        this.screen[this.row] = line.slice(0, this.col) + ch + line.slice(this.col + 1);
        this.col += 1;
        i += 1;
      }
    }
  }

  private control(final: string, n: number | null): void {
    if (n === null) return; // ?25l, ?7l: cursor visibility and wrapping.
    switch (final) {
      case 'A':
        this.row = Math.max(0, this.row - (n || 1));
        break;
      case 'B':
        this.row += n || 1;
        break;
      case 'C':
        this.col += n || 1;
        break;
      case 'D':
        this.col = Math.max(0, this.col - (n || 1));
        break;
      case 'G':
        this.col = Math.max(0, (n || 1) - 1);
        break;
      case 'K':
        this.clearInLine(n === 1 ? -1 : n === 2 ? 0 : 1);
        break;
      case 'J':
        this.clearDown();
        break;
      default:
        break; // 'm': colors.
    }
  }

  private line(): string {
    while (this.screen.length <= this.row) this.screen.push('');
    return this.screen[this.row]!;
  }

  /** dir 1: right of the cursor, -1: left of it, 0: whole line (readline's convention). */
  private clearInLine(dir: number): void {
    const line = this.line();
    if (dir === 1) this.screen[this.row] = line.slice(0, this.col);
    else if (dir === -1) this.screen[this.row] = ' '.repeat(this.col) + line.slice(this.col);
    else this.screen[this.row] = '';
  }

  private clearDown(): void {
    this.screen[this.row] = this.line().slice(0, this.col);
    this.screen.length = this.row + 1;
  }
}

/** Index of the first character that is not 7-bit ASCII, or -1. */
export function firstNonAscii(text: string): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 128) return i;
  return -1;
}
