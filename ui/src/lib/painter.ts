// How a camera tile puts a JPEG on screen. Two painters, because the two
// engines the app runs in disagree about which is cheap (docs/BENCHMARKS.md,
// "The desktop window's CPU"):
//
// * `ImagePainter`: an <img> fed object URLs. WebKitGTK (the desktop window)
//   decodes and paints it off the main thread with no JavaScript per pixel.
// * `CanvasPainter`: `createImageBitmap` + a 2D canvas. Chromium sends every
//   object URL through its network service, so there a bitmap is cheaper.
//
// Both are latest-wins: while a frame is being decoded, newer frames replace
// the one waiting, and nothing is drawn when nothing arrived.

export type PainterKind = "img" | "canvas";

export interface FramePainter {
  /** The element showing the picture (hidden until the first one is drawn). */
  readonly element: HTMLElement;
  /** Queues `jpeg` to be drawn; draws now unless a decode is running. */
  show(jpeg: Blob): void;
  /** The size of the picture on screen, once there is one. */
  size(): { width: number; height: number } | null;
  /** Frames drawn so far (what the tests and the benchmark read). */
  readonly drawn: number;
  dispose(): void;
}

/** `onFirst` runs once, when the first picture is on screen. */
export type PainterFactory = (alt: string, onFirst: () => void) => FramePainter;

const PAINTER_KEY = "relaydeck.cameras.painter";

/**
 * The painter for this engine: `localStorage["relaydeck.cameras.painter"]`
 * ("img" or "canvas") when set, as the benchmark sets it; otherwise canvas
 * in Chromium (the only engine with `navigator.userAgentData`) and <img>
 * elsewhere (WebKit, Firefox).
 */
export function painterKind(stored: string | null, chromium: boolean): PainterKind {
  if (stored === "img" || stored === "canvas") return stored;
  return chromium ? "canvas" : "img";
}

export function painterFactory(): PainterFactory {
  const kind = painterKind(localStorage.getItem(PAINTER_KEY), "userAgentData" in navigator);
  return kind === "canvas" ? (alt, onFirst) => new CanvasPainter(alt, onFirst) : (alt, onFirst) => new ImagePainter(alt, onFirst);
}

/** Latest-wins bookkeeping both painters share. */
export abstract class LatestWins {
  private busy = false;
  private waiting: Blob | null = null;
  private first: (() => void) | null;
  protected disposed = false;
  drawn = 0;

  constructor(onFirst: () => void) {
    this.first = onFirst;
  }

  show(jpeg: Blob) {
    this.waiting = jpeg;
    if (!this.busy) this.next();
  }

  private next() {
    const jpeg = this.waiting;
    if (!jpeg || this.disposed) return;
    this.waiting = null;
    this.busy = true;
    void this.draw(jpeg).then((drawn) => {
      this.busy = false;
      if (drawn) this.drawn++;
      if (drawn && this.first) {
        const first = this.first;
        this.first = null;
        first();
      }
      this.next();
    });
  }

  /** Draws `jpeg`; resolves false when it could not be decoded (the next frame replaces it). */
  protected abstract draw(jpeg: Blob): Promise<boolean>;
}

export class ImagePainter extends LatestWins implements FramePainter {
  readonly element: HTMLImageElement;
  private shown: string | null = null;

  constructor(alt: string, onFirst: () => void) {
    super(onFirst);
    this.element = document.createElement("img");
    this.element.className = "picture";
    this.element.alt = alt;
    this.element.decoding = "async";
    this.element.hidden = true;
  }

  // `onload` only says the bytes arrived: with `decoding="async"` the engine
  // keeps painting the previous picture until the new one is decoded, and a
  // new `src` set before that cancels the decode. On a busy machine frames
  // then "load" at 15 fps while the screen never changes (seen in CI). So a
  // frame counts as drawn, and the next one is set, only once `decode()` says
  // it is ready to paint.
  protected async draw(jpeg: Blob): Promise<boolean> {
    const url = URL.createObjectURL(jpeg);
    const img = this.element;
    img.src = url;
    let ok = true;
    try {
      await img.decode();
    } catch {
      ok = false; // a corrupt frame, or one replaced mid-decode: the next one follows
    }
    if (this.shown) URL.revokeObjectURL(this.shown);
    this.shown = url;
    if (ok && img.naturalWidth && !this.disposed) img.hidden = false;
    return ok;
  }

  size() {
    const img = this.element;
    return img.naturalWidth ? { width: img.naturalWidth, height: img.naturalHeight } : null;
  }

  dispose() {
    this.disposed = true;
    if (this.shown) URL.revokeObjectURL(this.shown);
    this.shown = null;
  }
}

export class CanvasPainter extends LatestWins implements FramePainter {
  readonly element: HTMLCanvasElement;
  private ctx: CanvasRenderingContext2D | null = null;

  constructor(alt: string, onFirst: () => void) {
    super(onFirst);
    this.element = document.createElement("canvas");
    this.element.className = "picture";
    this.element.setAttribute("role", "img");
    this.element.setAttribute("aria-label", alt);
    this.element.hidden = true;
  }

  protected async draw(jpeg: Blob): Promise<boolean> {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(jpeg);
    } catch {
      return false;
    }
    if (this.disposed) {
      bitmap.close();
      return false;
    }
    const c = this.element;
    if (c.width !== bitmap.width || c.height !== bitmap.height) {
      c.width = bitmap.width; // resizing clears the canvas and its context state
      c.height = bitmap.height;
    }
    this.ctx ??= c.getContext("2d", { alpha: false });
    this.ctx?.drawImage(bitmap, 0, 0);
    bitmap.close();
    c.hidden = false;
    return true;
  }

  size() {
    return this.drawn > 0 ? { width: this.element.width, height: this.element.height } : null;
  }

  dispose() {
    this.disposed = true;
  }
}
