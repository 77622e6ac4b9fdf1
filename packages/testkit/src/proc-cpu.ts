import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** Clock ticks per second in /proc (USER_HZ). */
const TICKS = 100;

/** CPU seconds (user + system) process `pid` has used so far, from /proc/<pid>/stat; null once it is gone. */
export function processCpuSeconds(pid: number | string): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return null;
  }
}

/** CPU seconds used so far by each running process whose name (/proc/<pid>/comm) matches, by pid. Benchmarks use it to say where the time went. */
export function cpuSecondsByName(pattern: RegExp): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue; // gone
    }
    if (!pattern.test(comm)) continue;
    const s = processCpuSeconds(pid);
    if (s !== null) out.set(pid, s);
  }
  return out;
}

/** The sum of cpuSecondsByName. */
export function totalCpuSecondsByName(pattern: RegExp): number {
  let total = 0;
  for (const s of cpuSecondsByName(pattern).values()) total += s;
  return total;
}

/** Peak resident set size (VmHWM, /proc/<pid>/status) of process `pid` so far, in MB; null once it is gone. */
export function processPeakRssMb(pid: number | string): number | null {
  return statusMb(pid, 'VmHWM');
}

/** Resident set size (VmRSS) of process `pid` now, in MB; null once it is gone. */
export function processRssMb(pid: number | string): number | null {
  return statusMb(pid, 'VmRSS');
}

function statusMb(pid: number | string, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/**
 * The process listening on TCP `port` (the machine's RabbitMQ on 5672, Redis on 6379), found through the
 * socket's inode in /proc/net/tcp{,6} and /proc/<pid>/fd; null when none is found. Other brokers and Redis
 * servers on the machine (tests start their own) are not mistaken for it, as a match on the process name would.
 */
export function pidListeningOn(port: number): number | null {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (f.length > 9 && f[1]!.endsWith(`:${hexPort}`) && f[3] === '0A') inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return null;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) return Number(pid);
    }
  }
  return null;
}
