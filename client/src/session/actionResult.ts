// What a session action hands back to the view that called it.

/** The outcome of an action: an error a person can read, or nothing. */
export type ActionResult<T = void> = { ok: true; value: T } | { ok: false; error: string };
