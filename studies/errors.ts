/** A user error (bad command, option, name, value or path): the CLI prints one line and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
