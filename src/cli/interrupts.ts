// Ctrl+C and SIGTERM for a command: the first asks the command to finish what is in flight and says so at once
// (through the progress display when one owns the terminal), the second quits at once.
import { EXIT_CODES, ShutdownError } from '../errors.js';

export class Interrupts {
  readonly #controller = new AbortController();
  #count = 0;
  #show: (line: string) => void = (line) => process.stderr.write(`${line}\n`);
  #beforeQuit: () => void = () => {};
  readonly #onSignal = (name: NodeJS.Signals): void => this.interrupt(name);

  /** Aborted by the first signal (or a closed stdout): start nothing new, finish what is in flight. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  listen(): this {
    process.on('SIGINT', this.#onSignal);
    process.on('SIGTERM', this.#onSignal);
    return this;
  }

  dispose(): void {
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
  }

  /**
   * Where the stop notices go while a display owns the terminal (a raw write would be drawn over), and what must
   * happen before a second signal exits (put the terminal back). Returns a function that undoes it.
   */
  useDisplay(show: (line: string) => void, beforeQuit: () => void): () => void {
    this.#show = show;
    this.#beforeQuit = beforeQuit;
    return () => {
      this.#show = (line) => process.stderr.write(`${line}\n`);
      this.#beforeQuit = () => {};
    };
  }

  /** Stops the command quietly, as a signal would but without a notice (`| head` closed our stdout). */
  stopQuietly(reason: string): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(new ShutdownError(reason));
  }

  interrupt(name: string): void {
    this.#count += 1;
    if (this.#count > 1) {
      this.#beforeQuit();
      // The journal is appended line by line and a torn last line is dropped on load: exiting now is safe.
      process.stderr.write(`pagepool: ${name} again: quitting now; run again to resume\n`);
      process.exit(EXIT_CODES.interrupted);
    }
    this.#show(`pagepool: ${name}: finishing items in flight (press Ctrl+C again to quit now)`);
    this.#controller.abort(new ShutdownError(`stopped by ${name}`));
  }
}
