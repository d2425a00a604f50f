// Closing a window as a window manager does: a WM_DELETE_WINDOW client
// message to every top-level window whose title contains `title` (Debian's
// python3-xlib; Xvfb has no window manager to click a close button).
import { execFileSync } from "node:child_process";

const SCRIPT = `
import sys
from Xlib import display, X, protocol
d = display.Display(sys.argv[1])
atom = d.intern_atom
def walk(w):
    for c in w.query_tree().children:
        name = c.get_wm_name()
        if name and sys.argv[2] in str(name):
            yield c
        yield from walk(c)
sent = 0
for w in walk(d.screen().root):
    w.send_event(protocol.event.ClientMessage(window=w, client_type=atom("WM_PROTOCOLS"), data=(32, [atom("WM_DELETE_WINDOW"), X.CurrentTime, 0, 0, 0])))
    sent += 1
d.flush()
print(sent)
`;

/** Asks every window titled `title` on `display` to close; returns how many were asked. */
export function closeWindow(display, title = "Relay Deck") {
  return Number(execFileSync("/usr/bin/python3", ["-c", SCRIPT, display, title]).toString().trim());
}

const MAPPED = `
import sys
from Xlib import display, X
d = display.Display(sys.argv[1])
def walk(w):
    for c in w.query_tree().children:
        name = c.get_wm_name()
        if name and sys.argv[2] in str(name) and c.get_attributes().map_state == X.IsViewable:
            yield c
        yield from walk(c)
print(len(list(walk(d.screen().root))))
`;

/** How many windows titled `title` are shown (mapped and viewable) on `display`. */
export function shownWindows(display, title = "Relay Deck") {
  return Number(execFileSync("/usr/bin/python3", ["-c", MAPPED, display, title]).toString().trim());
}
