/**
 * A path as one word of a POSIX shell command line (sh, bash, zsh, dash), for a command a person
 * is told to run: left as it is when it holds only characters no shell treats specially, else in
 * single quotes (inside which nothing is special; a single quote itself is written `'\''`). A path
 * starting with `-` is given a `./`, so the command does not read it as an option.
 */
export function shellWord(path: string): string {
  const word = path.startsWith('-') ? `./${path}` : path;
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
