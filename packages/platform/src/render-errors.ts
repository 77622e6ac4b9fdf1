import { ERROR_CODES, type RetryDecision } from './error-codes.js';

const DECISIONS: Record<RetryDecision, string> = {
  retry: 'the same work may succeed later: requeued (counted against the delivery limit) or tried again',
  give_up: 'it never will: dead-lettered, refused or answered as an error; retrying changes nothing',
  unavailable: 'the upstream itself is down: the consumer pauses and gives deliveries back uncounted until a probe passes',
};

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** Renders docs/errors.md from the catalogue, so the reference cannot drift from the code (a test compares them). */
export function renderErrorsDoc(): string {
  const codes = Object.entries(ERROR_CODES);
  const out = [
    '# Error codes',
    '',
    '<!-- Generated from packages/platform/src/error-codes.ts by `make errors-doc`; do not edit by hand. A test fails when this file and the catalogue differ. -->',
    '',
    'Every code a service logs, counts (the `code` label), dead-letters (header `x-terra-error-code`) or returns in an',
    'HTTP error body (`{ "error": CODE, "message": … }`) is one of these. The error classes accept only catalogued codes of',
    'their decision (`TransientError`: retry, `PermanentError`: give up, `UpstreamUnavailableError`: upstream unavailable),',
    'so a code cannot be thrown with the wrong decision. Upstream codes (Globus\'s `ClientError.NotFound`, a PostgreSQL',
    'SQLSTATE) are not codes here: they travel as `upstreamCode`, data for logs, beside one of ours.',
    '',
    'Decisions:',
    '',
    ...Object.entries(DECISIONS).map(([d, text]) => `- \`${d}\`: ${text}`),
    '',
    `${codes.length} codes.`,
    '',
    '| code | decision | from | meaning |',
    '|---|---|---|---|',
    ...codes.map(([code, s]) => `| \`${code}\` | ${s.decision} | ${cell(s.from)} | ${cell(s.meaning)} |`),
    '',
  ];
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(renderErrorsDoc());
