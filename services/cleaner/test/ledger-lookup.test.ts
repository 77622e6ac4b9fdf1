import { putFile, startHarness, TOKEN, type Harness } from './harness.js';

const HOUR = 3_600_000;
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const lookup = (payload: unknown, token: string | null = TOKEN) =>
  h.cleaner.http.inject({ method: 'POST', url: '/api/v1/ledger/lookup', payload: payload as Record<string, unknown>, headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('POST /api/v1/ledger/lookup', () => {
  it("answers each path's ledger record, null for a path the ledger never saw", async () => {
    const sent = `${h.root}/MovingSensor/stereoTop/2026-11-24/2026-11-24__13-00-00-000/left.bin`;
    const f = await putFile(sent, 'left image', Date.now() - HOUR);
    const sub = await h.cleaner.http.inject({ method: 'POST', url: '/api/v1/files', payload: { site: 'ua-mac', paths: [sent] }, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(sub.statusCode).toBe(200);
    const never = `${h.root}/MovingSensor/stereoTop/2026-11-24/never-sent.bin`;
    const res = await lookup({ paths: [sent, never] });
    expect(res.statusCode).toBe(200);
    const { records } = res.json() as { records: Array<{ path: string; record: { state: string; size: number; uploadId: string } | null }> };
    expect(records).toEqual([
      { path: sent, record: expect.objectContaining({ state: 'pending', size: f.size, uploadId: `api:${sent}:${f.size}:${f.mtimeMs}` }) },
      { path: never, record: null },
    ]);
  });

  it('needs the token and refuses a relative path or an empty list', async () => {
    expect((await lookup({ paths: ['/x'] }, null)).statusCode).toBe(401);
    expect((await lookup({ paths: ['/x'] }, 'wrong')).statusCode).toBe(401);
    expect((await lookup({ paths: ['relative'] })).statusCode).toBe(400);
    expect((await lookup({ paths: [] })).statusCode).toBe(400);
  });
});
