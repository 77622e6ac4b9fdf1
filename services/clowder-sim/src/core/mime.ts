/** A subset of Play's MimeTypes table; `extra` plays the role of Clowder's `mimetype.*` config entries. */
const TYPES: Record<string, string> = {
  json: 'application/json',
  txt: 'text/plain',
  csv: 'text/csv',
  xml: 'application/xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  gif: 'image/gif',
  zip: 'application/zip',
  gz: 'application/gzip',
  pdf: 'application/pdf',
  nc: 'application/x-netcdf',
};

export function mimeOf(filename: string, extra: Readonly<Record<string, string>> = {}): string {
  const dot = filename.lastIndexOf('.');
  if (dot < 0) return 'application/octet-stream';
  const ext = filename.slice(dot + 1).toLowerCase();
  return extra[ext] ?? TYPES[ext] ?? 'application/octet-stream';
}

/** The extractor routing key of a file: mime type with `.` → `_` first, then `/` → `.` (clowder.file.image.png). */
export function fileRoutingKey(mime: string): string {
  return `clowder.file.${mime.replace(/\./g, '_').replace(/\//g, '.')}`;
}
