// The audio library on the Listen page: the files the caller may see, each
// played over WebRTC as its chunks arrive (FilePlayer: a seek bar with what
// has arrived, resume after a dropped connection), saved byte for byte
// (bytes mode), and for the admin uploaded with a progress bar and deleted.
import { FilePlayer } from "../audio/file-player";
import { FileStream } from "../audio/file-stream";
import { webRtcAvailable } from "../audio/webrtc";
import type { AudioFile, FileList } from "../generated/contract";
import { api, withToken } from "../lib/api";
import { fmtBytes, h, setText } from "../lib/dom";

/** 3:05, or 1:02:03 past an hour. */
export function fmtTime(s: number): string {
  const t = Math.max(0, Math.floor(s));
  const hh = Math.floor(t / 3600);
  const mm = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

interface Row {
  el: HTMLElement;
  player: FilePlayer | null;
  play: HTMLButtonElement;
  seek: HTMLInputElement;
  bufferedBar: HTMLElement;
  time: HTMLElement;
  msg: HTMLElement;
}

/** Uploads one file with progress; resolves with the stored entry or rejects with the relay's reason. */
export function upload(file: File, onProgress: (fraction: number) => void): Promise<AudioFile> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", withToken(`/api/files/${encodeURIComponent(file.name)}`));
    xhr.setRequestHeader("content-type", file.type || "application/octet-stream");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body: { error?: { message?: string } } & Partial<AudioFile> = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status === 200 || xhr.status === 201) resolve(body as AudioFile);
      else reject(new Error(body.error?.message ?? `${xhr.status} ${xhr.statusText}`));
    };
    xhr.onerror = () => reject(new Error("the upload was cut off (network)"));
    xhr.send(file);
  });
}

export function mountFiles(root: HTMLElement, admin: boolean): () => void {
  const list = h("div", { class: "files", id: "file-list" });
  const empty = h("p", { class: "empty" }, admin ? "No audio files yet. Upload WAV, FLAC, MP3 or Ogg (Opus, Vorbis) files to play them here." : "No audio files are shared with this link.");
  const uploads = h("div", { class: "uploads", id: "uploads" });
  const picker = h("input", { type: "file", id: "file-upload", multiple: "", accept: "audio/*,.wav,.flac,.mp3,.ogg,.opus,.oga" }) as HTMLInputElement;
  let maxBytes = 0;
  root.append(
    h("h2", {}, "Audio files"),
    admin ? h("div", { class: "toolbar" }, h("label", { for: "file-upload" }, "Upload audio files "), picker, uploads) : "",
    webRtcAvailable() ? "" : h("p", { class: "notice" }, "This browser has no WebRTC: files cannot be played here."),
    list,
    empty,
  );
  const rows = new Map<string, Row>();
  const clientBase = `file-${Math.random().toString(36).slice(2, 10)}`;
  (window as unknown as { relaydeckFiles: Map<string, Row> }).relaydeckFiles = rows;

  picker.onchange = () => {
    for (const f of [...(picker.files ?? [])]) void sendOne(f);
    picker.value = "";
  };

  async function sendOne(f: File) {
    const bar = h("progress", { max: 1, value: 0, "aria-label": `Uploading ${f.name}` }) as HTMLProgressElement;
    const label = h("span", {}, `${f.name}: 0 %`);
    const item = h("div", { class: "upload", "data-name": f.name }, label, bar);
    uploads.append(item);
    if (maxBytes && f.size > maxBytes) {
      item.dataset.state = "error";
      setText(label, `${f.name}: ${fmtBytes(f.size)} is more than the relay takes (${fmtBytes(maxBytes)}).`);
      return;
    }
    try {
      await upload(f, (p) => {
        bar.value = p;
        setText(label, p < 1 ? `${f.name}: ${Math.floor(p * 100)} %` : `${f.name}: reading the audio…`);
      });
      item.remove();
      await refresh();
    } catch (e) {
      item.dataset.state = "error";
      setText(label, `${f.name}: ${(e as Error).message}`);
    }
  }

  function row(f: AudioFile): Row {
    const existing = rows.get(f.id);
    if (existing) return existing;
    const play = h("button", { type: "button", class: "play" }, "Play") as HTMLButtonElement;
    const seek = h("input", { type: "range", min: 0, max: f.durationSec, step: 0.01, value: 0, class: "seek", "aria-label": `Position in ${f.name}` }) as HTMLInputElement;
    const bufferedBar = h("div", { class: "buffered" });
    const time = h("span", { class: "time" }, `0:00 / ${fmtTime(f.durationSec)}`);
    const msg = h("div", { class: "player-msg", role: "status" });
    const save = h("button", { type: "button" }, "Save") as HTMLButtonElement;
    const rate = `${f.sampleRate / 1000} kHz ${f.channels === 1 ? "mono" : "stereo"}`;
    const facts = h("div", { class: "facts" }, `${f.format.toUpperCase()} · ${rate} · ${fmtTime(f.durationSec)} · ${fmtBytes(f.size)}`);
    const del = admin ? (h("button", { type: "button", class: "danger" }, "Delete") as HTMLButtonElement) : null;
    const el = h(
      "section",
      { class: "source file", "data-file": f.id },
      h("header", {}, h("strong", {}, f.name), h("span", { class: "badge" }, f.origin)),
      facts,
      h("div", { class: "file-controls" }, play, h("div", { class: "seekbar" }, bufferedBar, seek), time),
      h("div", { class: "file-actions" }, save, del ?? ""),
      msg,
    );
    const r: Row = { el, player: null, play, seek, bufferedBar, time, msg };
    play.onclick = async () => {
      r.player ??= new FilePlayer(f.id, `${clientBase}-${f.id}`.slice(0, 64), () => paint(r));
      try {
        if (["playing", "buffering"].includes(r.player.state) && r.player.position < r.player.duration) r.player.pause();
        else await r.player.play();
      } catch (e) {
        setText(msg, `Cannot play: ${(e as Error).message}`);
      }
      paint(r);
    };
    seek.oninput = () => setText(time, `${fmtTime(Number(seek.value))} / ${fmtTime(f.durationSec)}`);
    seek.onchange = () => {
      r.player ??= new FilePlayer(f.id, `${clientBase}-${f.id}`.slice(0, 64), () => paint(r));
      r.player.seek(Number(seek.value));
      paint(r);
    };
    save.onclick = () => saveFile(f, save, msg);
    if (del)
      del.onclick = async () => {
        if (!confirm(`Delete ${f.name}?`)) return;
        try {
          await api(`/api/files/${encodeURIComponent(f.id)}`, { method: "DELETE" });
          await refresh();
        } catch (e) {
          setText(msg, `Cannot delete: ${(e as Error).message}`);
        }
      };
    rows.set(f.id, r);
    list.append(el);
    return r;
  }

  function paint(r: Row) {
    const p = r.player;
    if (!p) return;
    r.el.dataset.state = p.state;
    r.el.dataset.stream = p.stream.state;
    setText(r.play, ["playing", "buffering"].includes(p.state) ? "Pause" : "Play");
    const d = p.duration || Number(r.seek.max);
    if (document.activeElement !== r.seek) r.seek.value = String(p.position);
    setText(r.time, `${fmtTime(p.position)} / ${fmtTime(d)}`);
    const spans = p.buffered().map(([a, b]) => `<span style="left:${(a / d) * 100}%;width:${((b - a) / d) * 100}%"></span>`);
    const html = spans.join("");
    if (r.bufferedBar.innerHTML !== html) r.bufferedBar.innerHTML = html;
    const s = p.stream;
    const why = s.state === "reconnecting" || s.state === "error" ? s.message : p.state === "buffering" ? "Waiting for the next part of the file…" : "";
    setText(r.msg, why);
  }

  async function refresh() {
    try {
      const got = await api<FileList>("/api/files");
      maxBytes = got.maxUploadBytes;
      empty.hidden = got.files.length > 0;
      got.files.forEach((f) => row(f));
      for (const [id, r] of rows) {
        if (!got.files.some((f) => f.id === id)) {
          r.player?.close();
          r.el.remove();
          rows.delete(id);
        }
      }
    } catch (e) {
      empty.hidden = false;
      empty.textContent = `Cannot list the audio files: ${(e as Error).message}`;
    }
  }
  void refresh();
  const painter = setInterval(() => {
    for (const r of rows.values()) paint(r);
  }, 250);
  const lister = setInterval(() => {
    if (!document.hidden) void refresh();
  }, 10000);
  return () => {
    clearInterval(painter);
    clearInterval(lister);
    for (const r of rows.values()) r.player?.close();
  };
}

/** Saves a file as uploaded: bytes mode over WebRTC, then a download link. */
function saveFile(f: AudioFile, button: HTMLButtonElement, msg: HTMLElement) {
  button.disabled = true;
  const stream = new FileStream(f.id, "bytes", `save-${Math.random().toString(36).slice(2, 10)}`, {
    chunk: () => setText(button, `Saving ${Math.floor(((stream.chunks?.heldCount ?? 0) / (stream.meta?.totalChunks ?? 1)) * 100)} %`),
    state: (s, message) => {
      if (s === "complete" && stream.chunks) {
        const blob = new Blob([stream.chunks.joined() as Uint8Array<ArrayBuffer>], { type: f.mime });
        const a = h("a", { href: URL.createObjectURL(blob), download: f.name }) as HTMLAnchorElement;
        a.click();
        setTimeout(() => URL.revokeObjectURL(a.href), 60000);
        stream.close();
        button.disabled = false;
        setText(button, "Save");
      } else if (s === "error") {
        setText(msg, `Cannot save: ${message}`);
        button.disabled = false;
        setText(button, "Save");
      }
    },
  });
  stream.start();
}
