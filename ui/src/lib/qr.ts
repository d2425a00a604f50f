// QR codes as SVG (qrcode-generator: no network, no canvas).
import qrcode from "qrcode-generator";

export function qrSvg(text: string, cellSize = 4): string {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  return qr.createSvgTag({ cellSize, margin: 2, scalable: true });
}

export function qrElement(text: string, label: string): HTMLElement {
  const fig = document.createElement("figure");
  fig.className = "qr";
  fig.innerHTML = qrSvg(text);
  const svg = fig.querySelector("svg");
  svg?.setAttribute("role", "img");
  svg?.setAttribute("aria-label", label);
  const cap = document.createElement("figcaption");
  cap.textContent = label;
  fig.append(cap);
  return fig;
}
