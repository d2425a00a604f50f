// The ID rule of every camera, source and device (docs/PROTOCOL.md: 1–64
// characters of `[A-Za-z0-9_-]`), as an HTML `pattern` attribute.
//
// Browsers compile `pattern` with the `v` flag, where a bare `-` at the end of
// a class is a syntax error (and the check is then silently off), so it is
// escaped here.
export const ID_PATTERN = "[A-Za-z0-9_\\-]{1,64}";

/** The same rule as a test, for places that check an ID in script. */
export function isValidId(id: string): boolean {
  return new RegExp(`^(?:${ID_PATTERN})$`, "v").test(id);
}
