/**
 * A path as one word of a POSIX shell command line (sh, bash, zsh, dash), for a command a person
 * is told to run: left as it is when it holds only characters no shell treats specially, else in
 * single quotes (inside which nothing is special; a single quote itself is written `'\''`). A path
 * starting with `-` is given a `./`, so the command does not read it as an option.
 */
export function shellWord(path: string): string {
  return quoted(path.startsWith('-') ? `./${path}` : path);
}

/**
 * A name (an application's, not a path) as the last operand of a command a person is told to
 * run: quoted as shellWord quotes, and after `--` when it starts with `-` (a `./` would name
 * another application), so the shell runs nothing of it and the command does not read it as an option.
 */
export function shellOperand(name: string): string {
  return `${name.startsWith('-') ? '-- ' : ''}${quoted(name)}`;
}

function quoted(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
