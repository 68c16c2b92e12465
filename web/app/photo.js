// Photos are made small on the phone before they are kept: the longest side at most 1280
// pixels, JPEG, so a day's photos fit the device and go up on a thin link.
const MAX_SIDE = 1280;

/** @param {Blob} file @returns {Promise<{bytes: ArrayBuffer, contentType: string, width: number, height: number, takenAt: string}>} */
export async function resizePhoto(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const blob = await canvas.convertToBlob({ type: "image/jpeg", quality: 0.8 });
  return { bytes: await blob.arrayBuffer(), contentType: "image/jpeg", width, height, takenAt: new Date().toISOString() };
}
