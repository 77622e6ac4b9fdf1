/* A private vsftpd, the real curl FTP client, the real logrotate, and a raw FTP client for aborted uploads and long sessions: for tests that drive the FTP side for real. Needs test/setup/install-ftp-tools.sh. */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, tempDir, waitFor } from './basics.js';
import { connect, type Socket } from 'node:net';

const exec = promisify(execFile);

/** The local account test/setup/install-ftp-tools.sh creates. */
export const FTP_USER = 'terraftp';
export const FTP_PASS = 'terraftp';

export interface Vsftpd {
  port: number;
  dir: string;
  cacheRoot: string;
  logPath: string;
  stop: () => Promise<void>;
}

/**
 * A private vsftpd on 127.0.0.1 (standalone, its own config in a temp dir)
 * writing a real xferlog. The FTP user is chrooted to the cache root, so the
 * log holds chroot-relative paths, as in production.
 */
export async function startVsftpd(name: string): Promise<Vsftpd> {
  const tmp = await tempDir(name);
  const dir = tmp.path;
  await chmod(dir, 0o755);
  const cacheRoot = join(dir, 'cache');
  const logDir = join(dir, 'log');
  await mkdir(cacheRoot);
  await mkdir(logDir);
  const { stdout } = await exec('id', ['-u', FTP_USER]);
  const uid = Number(stdout.trim());
  await chown(cacheRoot, uid, uid);
  const port = await freePort();
  const pasvMin = 40000 + Math.floor(Math.random() * 200) * 100;
  const logPath = join(logDir, 'xferlog');
  const conf = join(dir, 'vsftpd.conf');
  await writeFile(conf, [
    'listen=YES', 'listen_ipv6=NO', 'listen_address=127.0.0.1', `listen_port=${port}`, 'background=NO',
    'anonymous_enable=NO', 'local_enable=YES', 'write_enable=YES', 'local_umask=022',
    'chroot_local_user=YES', 'allow_writeable_chroot=YES', `local_root=${cacheRoot}`,
    'xferlog_enable=YES', 'xferlog_std_format=YES', `xferlog_file=${logPath}`, `vsftpd_log_file=${join(dir, 'vsftpd.log')}`,
    'pasv_enable=YES', `pasv_min_port=${pasvMin}`, `pasv_max_port=${pasvMin + 99}`, 'pasv_address=127.0.0.1',
    // Containers often forbid the namespaces and seccomp filter vsftpd uses to sandbox sessions.
    'seccomp_sandbox=NO', 'isolate=NO', 'isolate_network=NO',
    'secure_chroot_dir=/var/run/vsftpd/empty', 'pam_service_name=vsftpd', 'use_localtime=NO',
    'max_per_ip=0', 'max_clients=0', 'idle_session_timeout=600', 'data_connection_timeout=60',
    '',
  ].join('\n'));
  await mkdir('/var/run/vsftpd/empty', { recursive: true });
  // Own process group: stop() ends the listener and every session process it forked, and nothing else.
  const proc: ChildProcess = spawn('/usr/sbin/vsftpd', [conf], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor('vsftpd listening', () => new Promise<boolean>((resolve) => {
    if (proc.exitCode !== null) throw new Error(`vsftpd exited: ${stderr}`);
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  }), 10_000, 50);
  return {
    port, dir, cacheRoot, logPath,
    stop: async () => {
      if (proc.exitCode === null && proc.pid) {
        const exited = new Promise((r) => proc.once('exit', r));
        process.kill(-proc.pid, 'SIGKILL');
        await exited;
      }
      await tmp.remove();
    },
  };
}

/** Uploads a local file with the real curl client; `remote` is URL-encoded by the caller. */
export async function curlUpload(v: Vsftpd, local: string, remote: string): Promise<void> {
  await exec('curl', ['-sS', '--ftp-create-dirs', '-T', local, `ftp://${FTP_USER}:${FTP_PASS}@127.0.0.1:${v.port}${remote}`], { timeout: 30_000 });
}

/** Downloads with curl (a `o` line in the log). */
export async function curlDownload(v: Vsftpd, remote: string): Promise<void> {
  await exec('curl', ['-sS', '-o', '/dev/null', `ftp://${FTP_USER}:${FTP_PASS}@127.0.0.1:${v.port}${remote}`], { timeout: 30_000 });
}

/** Runs the real logrotate binary on `conf` (forced), with its own state file. */
export async function logrotate(conf: string, state: string): Promise<void> {
  await exec('/usr/sbin/logrotate', ['-f', '-s', state, conf], { timeout: 30_000 });
}

/**
 * A minimal FTP client for what curl cannot do: abort an upload the way a
 * failing field uploader does. curl killed mid-STOR closes the data
 * connection with a FIN, which vsftpd cannot tell from the end of the file
 * (it logs `c` with the partial size); a reset (RST) on the data connection
 * makes the transfer fail, and vsftpd logs the line with status `i`.
 */
class Control {
  private buf = '';
  private waiters: Array<(line: string) => void> = [];
  private lines: string[] = [];

  constructor(readonly sock: Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\r\n')) !== -1) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        // Only the last line of a multi-line reply ("123 text") completes it.
        if (!/^\d{3} /.test(line)) continue;
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
  }

  reply(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((r) => this.waiters.push(r));
  }

  async cmd(c: string, expect: RegExp): Promise<string> {
    this.sock.write(`${c}\r\n`, 'latin1');
    const r = await this.reply();
    if (!expect.test(r)) throw new Error(`FTP ${c.split(' ')[0]}: unexpected reply ${r}`);
    return r;
  }
}

async function login(port: number, user: string, pass: string): Promise<Control> {
  const sock = connect(port, '127.0.0.1');
  await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
  const c = new Control(sock);
  await c.reply();
  await c.cmd(`USER ${user}`, /^331/);
  await c.cmd(`PASS ${pass}`, /^230/);
  await c.cmd('TYPE I', /^200/);
  return c;
}

async function pasv(c: Control): Promise<Socket> {
  const r = await c.cmd('PASV', /^227/);
  const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(r)!;
  const port = Number(m[5]) * 256 + Number(m[6]);
  const data = connect(port, '127.0.0.1');
  await new Promise<void>((res, rej) => data.once('connect', res).once('error', rej));
  return data;
}

/**
 * Opens a session, starts a STOR of `remotePath` (raw bytes in latin1), sends
 * `bytes` of data, then resets the data connection. Resolves after the server
 * answered the aborted transfer and the session closed.
 */
export async function abortedUpload(port: number, user: string, pass: string, remotePath: string, bytes: number): Promise<void> {
  const c = await login(port, user, pass);
  const data = await pasv(c);
  c.sock.write(`STOR ${remotePath}\r\n`, 'latin1');
  const opened = await c.reply();
  if (!/^150/.test(opened)) {
    data.destroy();
    c.sock.destroy();
    throw new Error(`STOR ${remotePath} refused: ${opened}`);
  }
  await new Promise<void>((r) => data.write(Buffer.alloc(bytes, 0x61), () => r()));
  await sleep(50);
  data.resetAndDestroy();
  await c.reply(); // 426 / 451: the failure vsftpd logs as `i`
  c.sock.write('QUIT\r\n');
  await new Promise((r) => c.sock.once('close', r).end());
}

/**
 * A session that stays open: each `upload` is a STOR on the same control
 * connection, so vsftpd keeps writing this session's xferlog lines through
 * the descriptor it opened at login (into a rotated file after a rotation).
 */
export async function openSession(port: number, user: string, pass: string): Promise<{ upload: (remotePath: string, body: Buffer) => Promise<void>; close: () => Promise<void> }> {
  const c = await login(port, user, pass);
  return {
    upload: async (remotePath, body) => {
      const data = await pasv(c);
      c.sock.write(`STOR ${remotePath}\r\n`, 'latin1');
      const r = await c.reply();
      if (!/^150/.test(r)) throw new Error(`STOR: ${r}`);
      await new Promise<void>((res) => data.end(body, () => res()));
      const done = await c.reply();
      if (!/^226/.test(done)) throw new Error(`STOR end: ${done}`);
    },
    close: async () => {
      c.sock.write('QUIT\r\n');
      await new Promise((r) => c.sock.once('close', r).end());
    },
  };
}
