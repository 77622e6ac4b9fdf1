import { multipart } from './client.js';

describe('multipart', () => {
  it('encodes text fields that a multipart parser reads back as the same values', async () => {
    const values = [JSON.stringify({ path: '/a/b c/"q".bin' }), JSON.stringify({ path: '/x/ü.json', md: { k: 'line\nbreak' } }), 'plain'];
    const { body, boundary } = multipart('file', values);
    const form = await new Request('http://x/', { method: 'POST', body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }).formData();
    expect(form.getAll('file')).toEqual(values);
  });

  it('picks a boundary that no value contains', () => {
    const { body, boundary } = multipart('file', ['a']);
    expect(body.toString()).toBe(`--${boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\na\r\n--${boundary}--\r\n`);
  });
});
