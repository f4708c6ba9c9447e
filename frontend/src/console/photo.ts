// The photo checks the console makes before `PUT /me/photo`, the same the server makes
// (docs/protocol.md, "Directory and buddy list"): PNG, JPEG, WebP or GIF, told by the file's
// first bytes (not its name or its declared type, as the server does), at most
// `max_photo_bytes` (2 MiB unless the server is set otherwise: its 413 says its own limit) and
// 4096 × 4096 pixels. The server decodes and re-encodes it anyway; this only saves a useless
// upload and says why sooner.

export const PHOTO_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"] as const;
export type PhotoType = (typeof PHOTO_TYPES)[number];
/** The server's default `max_photo_bytes`. */
export const MAX_PHOTO_BYTES = 2 * 1024 * 1024;
export const MAX_PHOTO_PIXELS = 4096;

/** The image format the first bytes announce, or null for anything else (SVG, text, ...). */
export function sniff(head: Uint8Array): PhotoType | null {
  const at = (i: number, bytes: number[]) => bytes.every((b, k) => head[i + k] === b);
  if (at(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (at(0, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (at(0, [0x47, 0x49, 0x46, 0x38]) && (head[4] === 0x37 || head[4] === 0x39) && head[5] === 0x61) {
    return "image/gif";
  }
  if (at(0, [0x52, 0x49, 0x46, 0x46]) && at(8, [0x57, 0x45, 0x42, 0x50])) return "image/webp";
  return null;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) ? 1 : 0)} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} bytes`;
}

async function head(file: Blob, n: number): Promise<Uint8Array> {
  const part = file.slice(0, n);
  if (typeof part.arrayBuffer === "function") return new Uint8Array(await part.arrayBuffer());
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(part);
  });
}

/** Why this file cannot be a photo, or null when it may be uploaded. `dimensions` measures the
 * image (the browser decodes it; null when it cannot, and the server decides). */
export async function checkPhoto(
  file: Blob,
  maxBytes = MAX_PHOTO_BYTES,
  dimensions: (file: Blob) => Promise<{ width: number; height: number } | null> = measure,
): Promise<string | null> {
  if (file.size === 0) return "The file is empty.";
  if (file.size > maxBytes) {
    return `The photo is ${formatBytes(file.size)}; it may be at most ${formatBytes(maxBytes)}.`;
  }
  if (sniff(await head(file, 16)) === null) {
    return "That is not a PNG, JPEG, WebP or GIF image.";
  }
  const size = await dimensions(file);
  if (size && (size.width > MAX_PHOTO_PIXELS || size.height > MAX_PHOTO_PIXELS)) {
    return `The photo is ${size.width} × ${size.height} pixels; it may be at most ${MAX_PHOTO_PIXELS} × ${MAX_PHOTO_PIXELS}.`;
  }
  return null;
}

/** The image's size as the browser decodes it (from a `data:` URL: the console's CSP allows
 * `data:` images, not `blob:` ones), or null. */
export function measure(file: Blob): Promise<{ width: number; height: number } | null> {
  if (typeof FileReader === "undefined" || typeof Image === "undefined") return Promise.resolve(null);
  return new Promise((resolve) => {
    // A browser that neither loads nor fails it (or takes too long) leaves it to the server.
    const timer = setTimeout(() => resolve(null), 3000);
    const done = (size: { width: number; height: number } | null) => {
      clearTimeout(timer);
      resolve(size);
    };
    const reader = new FileReader();
    reader.onerror = () => done(null);
    reader.onload = () => {
      const img = new Image();
      img.onload = () => done({ width: img.naturalWidth, height: img.naturalHeight });
      img.onerror = () => done(null);
      img.src = String(reader.result);
    };
    reader.readAsDataURL(file);
  });
}
