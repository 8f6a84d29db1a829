import type { InputStream, OutputStream } from './io.js';

/** Ctrl-C at the hidden prompt: nothing was stored. */
export class PromptCancelled extends Error {
  override name = 'PromptCancelled';
}

/**
 * The value of `secret set`: from a terminal, typed at a prompt on stderr with nothing echoed; otherwise all of
 * stdin (`pbpaste | onboarding secret set …`), without its final line break. Never from the command line, where
 * shell history and the process list would keep it.
 */
export async function readSecretValue(stdin: InputStream, stderr: OutputStream, prompt: string): Promise<string> {
  if (stdin.isTTY && stdin.setRawMode) return hiddenPrompt(stdin, stderr, prompt);
  let text = '';
  for await (const chunk of stdin) text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
  return text.replace(/\r?\n$/, '');
}

/** Reads one line in raw mode, so the terminal shows nothing of it; Backspace edits, Enter ends, Ctrl-C cancels. */
function hiddenPrompt(stdin: InputStream, stderr: OutputStream, prompt: string): Promise<string> {
  stderr.write(prompt);
  stdin.setRawMode!(true);
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const finish = (outcome: () => void) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode!(false);
      stdin.pause();
      stderr.write('\n');
      outcome();
    };
    const onData = (chunk: string | Buffer) => {
      for (const char of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        switch (char) {
          case '\r':
          case '\n':
          case '\u0004': // Ctrl-D
            finish(() => resolve(value));
            return;
          case '\u0003': // Ctrl-C
            finish(() => reject(new PromptCancelled('cancelled at the prompt; nothing was stored')));
            return;
          case '\u007f': // Backspace (DEL)
          case '\b':
            value = [...value].slice(0, -1).join('');
            break;
          default:
            if (char >= ' ') value += char;
        }
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
