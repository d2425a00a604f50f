// The page a sign-in returns to.
/**
 * Where to go after signing in: a path on this origin only, of a strict
 * character set, that does not start with `//` or `/\` once decoded (the
 * server's `safe_next` applies the same rule). Anything else goes to `/`.
 */
export function safeNext(n: string | null): string {
  if (!n || n.length > 2048 || !/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/?#%]*$/.test(n)) return "/";
  let decoded: string;
  try {
    decoded = decodeURIComponent(n);
  } catch {
    return "/";
  }
  // eslint-disable-next-line no-control-regex
  if (!decoded.startsWith("/") || decoded.startsWith("//") || decoded.includes("\\") || /[\u0000-\u001f\u007f-\u009f]/.test(decoded)) return "/";
  return n;
}
