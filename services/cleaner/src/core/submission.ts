import type { GiveUpCode } from '@terra-transfer/platform';
import { isHidden, isWhitelisted } from '@terra-transfer/site-layout';
import { insideRoot } from './paths.js';

/**
 * Why a path of a manual submission (POST /api/v1/files) was refused: a
 * closed set, the `code` of each refusal and the label of its metric.
 * Nothing is published for a refused path. Each code is in the catalogue
 * (packages/platform/src/error-codes.ts); the text here is the reason in the answer.
 */
export const SUBMIT_REFUSALS = {
  OUTSIDE_SITE: 'not an absolute path inside the site root (another tree, or . / .. / empty components)',
  HIDDEN: 'a path component is hidden (starts with a dot): never sent, as the log-tailer and the sweep never send it',
  NOT_WHITELISTED: 'not under a whitelisted folder of the site (ignoreWhitelist sends it anyway)',
  MISSING: 'no file at this path',
  SYMLINK: 'the file or one of its folders is a symlink (symlinks are never followed: they may leave the site root)',
  NOT_A_REGULAR_FILE: 'a directory, FIFO, socket or device: only regular files are sent',
} as const satisfies Partial<Record<GiveUpCode, string>>;

export type SubmitRefusal = keyof typeof SUBMIT_REFUSALS;

/** The lexical verdict on a requested path: its cache-relative path, or why it is refused before the disk is looked at. */
export type LexicalVerdict = { ok: true; rel: string } | { ok: false; code: SubmitRefusal };

export function checkRequestedPath(root: string, path: string, whitelist: readonly string[], ignoreWhitelist: boolean): LexicalVerdict {
  const rel = insideRoot(root, path);
  if (rel === null) return { ok: false, code: 'OUTSIDE_SITE' };
  if (isHidden(rel)) return { ok: false, code: 'HIDDEN' };
  if (!ignoreWhitelist && !isWhitelisted(rel, whitelist)) return { ok: false, code: 'NOT_WHITELISTED' };
  return { ok: true, rel };
}
