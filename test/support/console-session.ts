/**
 * The shell sessions documentation shows, read back so tests can replay them as written:
 * the ```console blocks of one Markdown section, as `$ command` lines (a trailing `\`
 * continues a command on the next line) each followed by its output, up to the next
 * command or the end of the block (blank lines around an output are not part of it).
 */
import { readFileSync } from 'node:fs';

export interface ConsoleStep {
  /** The command as one line, continuations joined. */
  command: string;
  /** Its words, quotes removed as a POSIX shell would. */
  argv: string[];
  /** The output lines as shown, joined with '\n'. */
  output: string;
}

/** The steps of every ```console block under the Markdown heading `heading` (any level). */
export function consoleSession(file: string, heading: string): ConsoleStep[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => /^#+ /.test(l) && l.replace(/^#+ /, '') === heading);
  if (start < 0) throw new Error(`${file} has no section '${heading}'`);
  const level = lines[start].indexOf(' ');
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.indexOf(' ') <= level);
  const section = lines.slice(start + 1, end < 0 ? undefined : end);

  const steps: ConsoleStep[] = [];
  let inBlock = false;
  let current: { command: string; output: string[] } | null = null;
  const finish = (): void => {
    if (current === null) return;
    const output = current.output.join('\n').replace(/^\n+|\n+$/g, '');
    steps.push({ command: current.command, argv: shellWords(current.command), output });
    current = null;
  };
  for (let i = 0; i < section.length; i++) {
    const line = section[i];
    if (!inBlock) {
      inBlock = line.trim() === '```console';
      continue;
    }
    if (line.trim() === '```') {
      finish();
      inBlock = false;
    } else if (line.startsWith('$ ')) {
      finish();
      let command = line.slice(2);
      while (command.endsWith('\\') && i + 1 < section.length) command = `${command.slice(0, -1).trimEnd()} ${section[++i].trim()}`;
      current = { command, output: [] };
    } else if (current !== null) {
      current.output.push(line);
    }
  }
  if (steps.length === 0) throw new Error(`${file}, section '${heading}', has no console session`);
  return steps;
}

/** Splits a command line into words: whitespace separates, '…' and "…" quote, \ escapes. */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (c === "'") {
      const close = command.indexOf("'", i + 1);
      if (close < 0) throw new Error(`unclosed ' in: ${command}`);
      word = (word ?? '') + command.slice(i + 1, close);
      i = close;
    } else if (c === '"') {
      let j = i + 1;
      word ??= '';
      for (; j < command.length && command[j] !== '"'; j++) word += command[j] === '\\' ? command[++j] : command[j];
      if (j >= command.length) throw new Error(`unclosed " in: ${command}`);
      i = j;
    } else if (c === '\\') {
      word = (word ?? '') + command[++i];
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}
