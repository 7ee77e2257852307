// Browser media: decode a picture, step through a driving video frame by frame, read the
// webcam, and record frames into a WebM. Every failure is an Error with a message for the user.

export class MediaError extends Error {
  constructor(message) {
    super(message);
    this.name = "MediaError";
  }
}

function withTimeout(promise, ms, message) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new MediaError(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** RGBA pixels of a drawable (image bitmap, video) at its own size. */
export function pixelsOf(drawable, width, height, canvas = null) {
  const c = canvas || document.createElement("canvas");
  if (c.width !== width) c.width = width;
  if (c.height !== height) c.height = height;
  const ctx = c.getContext("2d", { willReadFrequently: true });
  ctx.clearRect(0, 0, width, height);
  ctx.drawImage(drawable, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height);
}

/** A picture file -> ImageData (EXIF orientation applied). */
export async function decodeImage(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    throw new MediaError(`${file.name || "source"}: not a picture this browser can decode`);
  }
  try {
    if (!bitmap.width || !bitmap.height) throw new MediaError(`${file.name}: an empty picture`);
    return pixelsOf(bitmap, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}

function once(target, ok, fail = "error") {
  return new Promise((resolve, reject) => {
    const onOk = () => {
      target.removeEventListener(fail, onFail);
      resolve();
    };
    const onFail = () => {
      target.removeEventListener(ok, onOk);
      reject(new MediaError("decode error"));
    };
    target.addEventListener(ok, onOk, { once: true });
    target.addEventListener(fail, onFail, { once: true });
  });
}

/**
 * A driving video file stepped through by seeking: frame i is the picture shown at
 * (i + 0.5) / fps seconds, so the same file gives the same frames on every run.
 */
export class VideoFrames {
  static async open(file, { timeoutMs = 15000 } = {}) {
    const name = file.name || "driving video";
    const video = document.createElement("video");
    video.muted = true;
    video.playsInline = true;
    video.preload = "auto";
    const url = URL.createObjectURL(file);
    const fail = (why) => {
      URL.revokeObjectURL(url);
      video.removeAttribute("src");
      return new MediaError(`${name}: this browser cannot decode the video (${why})`);
    };
    video.src = url;
    try {
      await withTimeout(once(video, "loadeddata"), timeoutMs, "timed out");
    } catch (err) {
      const code = video.error ? ` code ${video.error.code}` : "";
      throw fail(`${err.message}${code}`);
    }
    if (!video.videoWidth || !video.videoHeight) throw fail("no picture track");
    if (!Number.isFinite(video.duration)) {
      // A WebM from MediaRecorder has no duration until the end is seen.
      video.currentTime = 1e9;
      await withTimeout(once(video, "seeked"), timeoutMs, "seek timed out").catch(() => {});
    }
    if (!Number.isFinite(video.duration) || video.duration <= 0) throw fail("unknown duration");
    return new VideoFrames(video, url, name, timeoutMs);
  }

  constructor(video, url, name, timeoutMs) {
    this.video = video;
    this.url = url;
    this.name = name;
    this.timeoutMs = timeoutMs;
    this.width = video.videoWidth;
    this.height = video.videoHeight;
    this.duration = video.duration;
    this.canvas = document.createElement("canvas");
  }

  /** How many frames there are at `fps`. */
  count(fps) {
    return Math.max(1, Math.floor(this.duration * fps + 1e-6));
  }

  async seek(t) {
    const v = this.video;
    const shown = new Promise((resolve) => {
      if (typeof v.requestVideoFrameCallback === "function") {
        v.requestVideoFrameCallback(() => resolve());
        setTimeout(resolve, 500); // a seek to the frame already shown presents nothing new
      } else resolve();
    });
    const seeked = once(v, "seeked");
    v.currentTime = t;
    await withTimeout(seeked, this.timeoutMs, `${this.name}: seeking to ${t.toFixed(3)} s timed out`)
      .catch((err) => {
        throw new MediaError(`${this.name}: this browser cannot decode the video (${err.message})`);
      });
    await shown;
  }

  /** ImageData of frame i at `fps`, at `size` ({width, height}; default: the video's). */
  async frame(i, fps, size = null) {
    await this.seek(Math.min((i + 0.5) / fps, Math.max(0, this.duration - 1e-3)));
    const { width, height } = size || this;
    return pixelsOf(this.video, width, height, this.canvas);
  }

  close() {
    this.video.removeAttribute("src");
    this.video.load();
    URL.revokeObjectURL(this.url);
  }
}

/** The webcam as a <video> element (throws MediaError when there is none or it is refused). */
export async function openWebcam() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new MediaError("this browser has no camera access (a secure origin is needed)");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
      audio: false,
    });
  } catch (err) {
    throw new MediaError(`no webcam: ${err.name === "NotAllowedError" ? "permission refused" : err.message}`);
  }
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  await video.play();
  return {
    video,
    stream,
    /** Call `fn` when the camera's track ends by itself (unplugged, taken, revoked). */
    onEnded(fn) {
      for (const track of stream.getVideoTracks()) track.addEventListener("ended", fn, { once: true });
    },
    stop() {
      for (const track of stream.getTracks()) track.stop();
      video.srcObject = null;
    },
  };
}

/**
 * `count` frames drawn by `draw(ctx, i)` into a width x height canvas -> a WebM Blob, played
 * into a canvas stream at `fps`. Returns null when the browser has no MediaRecorder for WebM.
 */
export async function recordWebM({ width, height, count, fps, draw }) {
  if (!count || typeof MediaRecorder === "undefined") return null;
  const mime = ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm"].find((m) =>
    MediaRecorder.isTypeSupported(m),
  );
  if (!mime) return null;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  draw(ctx, 0);
  const stream = canvas.captureStream(0);
  const track = stream.getVideoTracks()[0];
  const recorder = new MediaRecorder(stream, { mimeType: mime, videoBitsPerSecond: 4e6 });
  const chunks = [];
  recorder.ondataavailable = (e) => e.data.size && chunks.push(e.data);
  const stopped = new Promise((resolve) => (recorder.onstop = resolve));
  recorder.start();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    draw(ctx, i);
    if (track.requestFrame) track.requestFrame();
    const wait = t0 + ((i + 1) * 1000) / fps - performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
  }
  recorder.stop();
  await stopped;
  track.stop();
  return new Blob(chunks, { type: "video/webm" });
}
