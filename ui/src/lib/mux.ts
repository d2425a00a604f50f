// The multi-camera binary header (docs/PROTOCOL.md):
// u8 version (1) | u8 idLen | id (UTF-8) | u32 BE seq | u64 BE capture µs | JPEG
export interface MuxFrame { id: string; seq: number; capturedUs: bigint; jpeg: Uint8Array<ArrayBuffer> }

const decoder = new TextDecoder();

export function parseMux(buf: ArrayBuffer): MuxFrame | null {
  const view = new DataView(buf);
  if (buf.byteLength < 2 || view.getUint8(0) !== 1) return null;
  const idLen = view.getUint8(1);
  if (buf.byteLength < 2 + idLen + 12) return null;
  const id = decoder.decode(new Uint8Array(buf, 2, idLen));
  const seq = view.getUint32(2 + idLen);
  const capturedUs = view.getBigUint64(6 + idLen);
  return { id, seq, capturedUs, jpeg: new Uint8Array(buf, 14 + idLen) };
}
