import type { Task } from '@terra-transfer/globus';
import { parseFields, parseOrderBy, parsePaging, parseTaskFilter, project } from './task-filter.js';

const task = (over: Partial<Task>): Task => ({ task_id: 'x', status: 'ACTIVE', type: 'TRANSFER', label: null, request_time: '2026-01-01T00:00:00+00:00', completion_time: null, ...over }) as Task;

describe('task_list filter', () => {
  it('matches id lists, status, type and combinations with /', () => {
    const p = parseTaskFilter('task_id:a,b/status:ACTIVE,INACTIVE');
    expect(p(task({ task_id: 'a' }))).toBe(true);
    expect(p(task({ task_id: 'c' }))).toBe(false);
    expect(p(task({ task_id: 'b', status: 'SUCCEEDED' }))).toBe(false);
    expect(parseTaskFilter('type:DELETE')(task({}))).toBe(false);
  });
  it('supports the label operators', () => {
    const t = task({ label: 'Batch-42' });
    expect(parseTaskFilter('label:~batch')(t)).toBe(true);
    expect(parseTaskFilter('label:=Batch-42')(t)).toBe(true);
    expect(parseTaskFilter('label:Batch-4')(t)).toBe(false);
    expect(parseTaskFilter('label:!Batch-42')(t)).toBe(false);
    expect(parseTaskFilter('label:!~zzz')(t)).toBe(true);
  });
  it('supports open and closed time ranges', () => {
    const t = task({ request_time: '2026-01-02T00:00:00+00:00', completion_time: null });
    expect(parseTaskFilter('request_time:2026-01-01,2026-01-03')(t)).toBe(true);
    expect(parseTaskFilter('request_time:2026-01-03T00:00:00,')(t)).toBe(false);
    expect(parseTaskFilter('request_time:,2026-01-02T00:00:00+00:00')(t)).toBe(true);
    expect(parseTaskFilter('completion_time:2026-01-01,')(t)).toBe(false);
  });
  it('rejects unknown keys and values with ClientError.BadRequest', () => {
    expect(() => parseTaskFilter('owner:me')).toThrow(expect.objectContaining({ status: 400, code: 'ClientError.BadRequest' }));
    expect(() => parseTaskFilter('status:DONE')).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => parseFields('task_id,nope')).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => parsePaging('1001', undefined, 10)).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => parsePaging('10', '995', 10)).toThrow(expect.objectContaining({ status: 400 }));
  });
  it('projects fields and orders newest first by default', () => {
    expect(project(task({ task_id: 'a' }), ['status'])).toEqual({ DATA_TYPE: undefined, status: 'ACTIVE' });
    const a = task({ task_id: 'a', request_time: '2026-01-01T00:00:00+00:00' });
    const b = task({ task_id: 'b', request_time: '2026-01-02T00:00:00+00:00' });
    expect([a, b].sort(parseOrderBy(undefined)).map((t) => t.task_id)).toEqual(['b', 'a']);
    expect([b, a].sort(parseOrderBy('request_time ASC')).map((t) => t.task_id)).toEqual(['a', 'b']);
  });
});
