/** A request the dashboard refuses: its message is one line naming what is wrong, shown as text with this status. */
export class BadRequest extends Error {
  constructor(
    message: string,
    readonly status: 400 | 403 | 404 = 400,
  ) {
    super(message);
  }
}
