import { createServer, type Server } from 'node:net';
import { pidListeningOn, processCpuSeconds, processPeakRssMb, processRssMb } from './proc-cpu.js';

describe('proc-cpu', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it('finds the process listening on a port, and no process once nothing listens', async () => {
    server = createServer();
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    expect(pidListeningOn(port)).toBe(process.pid);
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    expect(pidListeningOn(port)).toBeNull();
  });

  it("reads a process's CPU seconds and peak RSS, and null for a process that is gone", () => {
    const t0 = processCpuSeconds(process.pid)!;
    const used = () => (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
    const u0 = used();
    while (used() - u0 < 0.3); // 0.3 s of CPU, however busy the machine
    expect(processCpuSeconds(process.pid)! - t0).toBeGreaterThanOrEqual(0.25);
    expect(processPeakRssMb(process.pid)).toBeGreaterThan(10);
    expect(processRssMb(process.pid)).toBeGreaterThan(10);
    expect(processRssMb(process.pid)!).toBeLessThanOrEqual(processPeakRssMb(process.pid)!);
    expect(processCpuSeconds(2 ** 22 + 1)).toBeNull();
    expect(processPeakRssMb(2 ** 22 + 1)).toBeNull();
    expect(processRssMb(2 ** 22 + 1)).toBeNull();
  });
});
