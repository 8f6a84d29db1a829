import type { OutputStream } from './io.js';

/** Progress of a run over many onboardings, on stderr so stdout stays the result. */
export interface Progress {
  /** One item is done; `outcome` says how (`retried onboarding-crm-1`). */
  advance(outcome: string): void;
  finish(): void;
}

const BAR_WIDTH = 24;

/** A bar redrawn in place: only for a terminal, where `\r` means something. */
export function progressBar(stream: OutputStream, label: string, total: number): Progress {
  let done = 0;
  const draw = (note: string) => {
    const filled = total === 0 ? BAR_WIDTH : Math.round((done / total) * BAR_WIDTH);
    const line = `${label} [${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${done}/${total} ${note}`;
    stream.write(`\r\u001b[2K${line.slice(0, (stream.columns ?? 120) - 1)}`);
  };
  draw('');
  return {
    advance(outcome) {
      done += 1;
      draw(outcome);
    },
    finish() {
      stream.write('\n');
    },
  };
}

/** One line per item, for logs and pipes. */
export function progressLines(stream: OutputStream, label: string, total: number): Progress {
  let done = 0;
  return {
    advance(outcome) {
      done += 1;
      stream.write(`${label} ${done}/${total}: ${outcome}\n`);
    },
    finish() {},
  };
}

export const noProgress: Progress = { advance() {}, finish() {} };
