import busboy from 'busboy';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

export type Part =
  | { kind: 'file'; field: string; filename: string; mimeType: string; bytes: Buffer }
  | { kind: 'data'; field: string; value: string };

/** Reads every part of a multipart/form-data body into memory (uploads here are small test files or by-path JSON parts). */
export function parseMultipart(headers: IncomingHttpHeaders, body: Readable, limits: { fileSize: number; fieldSize: number }): Promise<Part[]> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers, limits: { fileSize: limits.fileSize, fieldSize: limits.fieldSize, parts: 100_000, fields: 100_000, files: 10_000 } });
    } catch (err) {
      reject(err);
      return;
    }
    const parts: Part[] = [];
    const pending: Array<Promise<void>> = [];
    bb.on('file', (field, stream, info) => {
      pending.push(
        new Promise<void>((res, rej) => {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', rej);
          stream.on('end', () => {
            // busboy reports a file part without filename= as a file too when it has a filename* or content-type; Clowder keys on filename.
            if (info.filename === undefined) parts.push({ kind: 'data', field, value: Buffer.concat(chunks).toString('utf8') });
            else parts.push({ kind: 'file', field, filename: info.filename, mimeType: info.mimeType, bytes: Buffer.concat(chunks) });
            res();
          });
        }),
      );
    });
    bb.on('field', (field, value) => parts.push({ kind: 'data', field, value }));
    bb.on('error', reject);
    bb.on('close', () => {
      Promise.all(pending).then(() => resolve(parts), reject);
    });
    body.pipe(bb);
  });
}
